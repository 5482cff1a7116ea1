#include "vsphere/datastore_file.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/error.h"
#include "unit/vsphere/fake_vcenter.h"

namespace hoist::vsphere {
namespace {

using testing::FakeVcenter;
using testing::TestOptions;

// SOAP goes to the fake vCenter; /folder requests are answered here, like vCenter's file service.
class FolderTransport : public SoapTransport {
 public:
  explicit FolderTransport(FakeVcenter& soap) : soap_(soap) {}
  net::HttpResponse Post(const net::HttpRequest& req) override {
    if (req.url.find("/folder/") == std::string::npos) return soap_.Post(req);
    seen.push_back(req);
    net::HttpResponse r;
    r.status = statuses.empty() ? 201 : statuses.front();
    if (!statuses.empty()) statuses.erase(statuses.begin());
    r.body = req.method == "GET" ? "file body" : "";
    return r;
  }
  std::vector<int> statuses;  // next answers
  std::vector<net::HttpRequest> seen;

 private:
  FakeVcenter& soap_;
};

struct Fixture {
  FakeVcenter* soap = nullptr;
  FolderTransport* folder = nullptr;
  std::unique_ptr<FakeVcenter> soap_owner;
  std::unique_ptr<Client> client;
};

std::unique_ptr<Fixture> Make() {
  auto fx = std::make_unique<Fixture>();
  fx->soap_owner = std::make_unique<FakeVcenter>();
  fx->soap = fx->soap_owner.get();
  auto folder = std::make_unique<FolderTransport>(*fx->soap);
  fx->folder = folder.get();
  fx->client = std::make_unique<Client>(TestOptions(), std::move(folder));
  fx->client->Login();
  return fx;
}

TEST(DatastoreFilesTest, UrlsEncodeEachPathSegmentAndTheQuery) {
  EXPECT_EQ(DatastoreFiles::FileUrlPath("Region A/DC1", "san ds 1", "/vm 1/it's.vmdk"),
            "/folder/vm%201/it%27s.vmdk?dcPath=Region%20A%2FDC1&dsName=san%20ds%201");
}

TEST(DatastoreFilesTest, PutCarriesTheSessionAndLogsInAgainOn401) {
  auto fx = Make();
  DatastoreFiles files(*fx->client);
  files.Put("DC0", "ds1", "secure-vmkfstools-wrapper", "#!/bin/sh\n");
  ASSERT_EQ(fx->folder->seen.size(), 1u);
  const net::HttpRequest& put = fx->folder->seen[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.url, "https://vc/folder/secure-vmkfstools-wrapper?dcPath=DC0&dsName=ds1");
  EXPECT_EQ(put.body, "#!/bin/sh\n");
  EXPECT_EQ(put.headers.Get("Cookie"), "vmware_soap_session=\"session-1\"");

  fx->folder->statuses = {401, 201};  // the session expired
  uint64_t logins = fx->client->logins();
  files.Put("DC0", "ds1", "x", "y");
  EXPECT_EQ(fx->client->logins(), logins + 1);
  ASSERT_EQ(fx->folder->seen.size(), 3u);
  EXPECT_EQ(fx->folder->seen[2].headers.Get("Cookie"), "vmware_soap_session=\"session-2\"");
  EXPECT_EQ(files.Get("DC0", "ds1", "x"), "file body");
}

TEST(DatastoreFilesTest, RefusalsSayWhatToCheckAndServerErrorsAreTransient) {
  auto fx = Make();
  DatastoreFiles files(*fx->client);
  fx->folder->statuses = {404};
  try {
    files.Put("DC0", "nope", "x", "y");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("uploading [nope] x"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("check the datastore and datacenter names"), std::string::npos)
        << e.what();
  }
  fx->folder->statuses = {403};
  try {
    files.Put("DC0", "ds1", "x", "y");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Datastore.FileManagement"), std::string::npos) << e.what();
  }
  fx->folder->statuses = {503};
  try {
    files.Put("DC0", "ds1", "x", "y");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
  }
}

}  // namespace
}  // namespace hoist::vsphere
