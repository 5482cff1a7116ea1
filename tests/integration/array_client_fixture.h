#pragma once
// What the storage clients' tests against the lab's array simulators (<vendor>_client_test.cc) share:
// a temporary directory holding the simulator's LUN files and SAN directory, the storage secret
// pointing at the simulator, the SAN entries a mapping writes, and the checks every vendor's client
// passes the same way (errors with their class and words, TLS verification, wrong passwords).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "storage/array.h"
#include "storage/config.h"

namespace hoist::storage::testing {

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Success when `f` throws hoist::Error of class `cls` whose message holds every string of `present`
// and none of `absent`; the message is in the failure.
inline ::testing::AssertionResult ThrowsError(const std::function<void()>& f, ErrorClass cls,
                                              const std::vector<std::string>& present,
                                              const std::vector<std::string>& absent = {}) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (e.error_class() != cls) {
      return ::testing::AssertionFailure() << "error of class " << static_cast<int>(e.error_class())
                                           << ", want " << static_cast<int>(cls) << ": " << msg;
    }
    for (const auto& p : present) {
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "no \"" << p << "\" in: " << msg;
    }
    for (const auto& a : absent) {
      if (msg.find(a) != std::string::npos)
        return ::testing::AssertionFailure() << "\"" << a << "\" in: " << msg;
    }
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected an error";
}

// A fixture running a vendor's simulator (`Simulator`, made from `Options`) in a temporary directory.
template <class Simulator, class Options>
class ArrayClientTest : public ::testing::Test {
 protected:
  explicit ArrayClientTest(std::string name) : name_(std::move(name)) {}

  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = (std::filesystem::path(tmp ? tmp : "/tmp") / ("hoist-" + name_ + "-XXXXXX")).string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (sim_) sim_->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The simulator's options with its files in the temporary directory and the array user's password.
  Options SimOptions(const std::string& password) const {
    Options o;
    o.lun_dir = (dir_ / "luns").string();
    o.san_dir = (dir_ / "san").string();
    o.password = password;
    return o;
  }
  void StartSimulator(const Options& o) {
    sim_ = std::make_unique<Simulator>(o);
    sim_->Start();
  }

  // The storage secret `secret`, with the simulator's certificate as STORAGE_CA_CERT unless `with_ca`
  // is false, and an HTTP timeout short enough for the tests' delayed answers.
  ArrayConfig ConfigFrom(std::map<std::string, std::string> secret, bool with_ca) const {
    if (with_ca) secret["STORAGE_CA_CERT"] = sim_->ca_pem();
    ArrayConfig c = ArrayConfigFromSecret(secret);
    c.http_timeout = std::chrono::milliseconds(2000);
    return c;
  }

  // The SAN directory entry presenting device `naa` to `initiator`, and its content.
  std::filesystem::path SanEntry(const std::string& initiator, const std::string& naa) const {
    return dir_ / "san" / initiator / naa;
  }
  nlohmann::json SanJson(const std::string& initiator, const std::string& naa) const {
    return nlohmann::json::parse(ReadFile(SanEntry(initiator, naa)));
  }

  std::filesystem::path dir_;
  std::unique_ptr<Simulator> sim_;

 private:
  std::string name_;
};

// TLS is verified unless the secret says otherwise: without the simulator's CA its self-signed
// certificate is refused (kPrecondition); with STORAGE_SKIP_SSL_VERIFICATION it is accepted.
template <class Array, class Tuning>
void ExpectTlsVerifiedByDefault(ArrayConfig without_ca, const Tuning& tuning, const VolumeRef& volume,
                                const std::string& naa) {
  Array untrusted(without_ca, tuning);
  EXPECT_TRUE(ThrowsError([&] { untrusted.ResolveVolume(volume); }, ErrorClass::kPrecondition, {}));
  without_ca.skip_tls_verify = true;
  Array insecure(without_ca, tuning);
  EXPECT_EQ(insecure.ResolveVolume(volume).naa, naa);
}

// A wrong password is kPrecondition naming `present` (the array, the operation) and the secret key to
// fix, and shows neither the wrong password nor the right one.
template <class Array, class Tuning>
void ExpectWrongPasswordRefused(const ArrayConfig& wrong, const Tuning& tuning, const VolumeRef& volume,
                                std::vector<std::string> present, const std::string& right_password) {
  Array array(wrong, tuning);
  present.push_back("STORAGE_PASSWORD");
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(volume); }, ErrorClass::kPrecondition, present,
                          {wrong.password, right_password}));
}

}  // namespace hoist::storage::testing
