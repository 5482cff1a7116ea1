// Disk-image copy benchmark: hoist's downloader + sink against the usual peers, all reading the same
// raw images from nginx on loopback (page cache) and writing to tmpfs, in the same run.
//
//   peers: curl | dd conv=sparse, curl -o, nbdcopy from nbdkit curl, qemu-img convert from nbdkit curl
//   hoist: parallel Range reads into the sparse sink (populators/common/download.h), in a child process
//   hoist ovirt: hoist-populator ovirt against the lab oVirt simulator (imageio extents, HTTPS)
//
// Images: a 4 GiB image with 10% data (1 MiB random blocks at random places) and a 2 GiB random image.
// Printed per tool and image: MiB/s of virtual size, the output's allocation, peak RSS (the largest
// process of the tool), and hoist's ratio to the best peer. Every output is compared with its source.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "lab/sim/ovirt/simulator.h"
#include "net/http_client.h"
#include "populators/common/copy.h"
#include "prom/metrics.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1 << 20;

struct Args {
  uint64_t sparse_gib = 4;
  uint64_t random_gib = 2;
  int runs = 3;
  int connections = 4;
  std::string dir;
  std::string bin_dir;
};

struct Proc {
  pid_t pid;
  std::string name;
};

pid_t Spawn(const std::vector<std::string>& argv, int in_fd = -1, int out_fd = -1,
            const std::string& log = "/dev/null") {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int l = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in_fd >= 0) dup2(in_fd, 0);
    if (out_fd >= 0)
      dup2(out_fd, 1);
    else
      dup2(l, 1);
    dup2(l, 2);
    execvp(a[0], a.data());
    _exit(127);
  }
  return pid;
}

// Waits for pid; returns peak RSS in KiB (ru_maxrss) and sets *ok on exit 0.
long WaitRss(pid_t pid, bool* ok) {
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  if (ok) *ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return ru.ru_maxrss;
}

long VmHwmKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

uint64_t Allocated(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

bool SameContent(const std::string& a, const std::string& b) {
  int fa = open(a.c_str(), O_RDONLY), fb = open(b.c_str(), O_RDONLY);
  if (fa < 0 || fb < 0) return false;
  std::vector<char> x(8 * kMiB), y(8 * kMiB);
  bool same = lseek(fa, 0, SEEK_END) == lseek(fb, 0, SEEK_END);
  for (off_t off = 0; same;) {
    ssize_t n = pread(fa, x.data(), x.size(), off), m = pread(fb, y.data(), y.size(), off);
    if (n != m) same = false;
    if (n <= 0) break;
    if (std::memcmp(x.data(), y.data(), static_cast<size_t>(n)) != 0) same = false;
    off += n;
  }
  close(fa);
  close(fb);
  return same;
}

void MakeImage(const std::string& path, uint64_t size, double data_fraction, unsigned seed) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) std::perror("ftruncate");
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> block(kMiB / 8);
  uint64_t blocks = size / kMiB;
  std::vector<uint64_t> chosen;
  if (data_fraction >= 1.0) {
    for (uint64_t b = 0; b < blocks; ++b) chosen.push_back(b);
  } else {
    std::vector<uint64_t> all(blocks);
    for (uint64_t b = 0; b < blocks; ++b) all[b] = b;
    std::shuffle(all.begin(), all.end(), rng);
    chosen.assign(all.begin(), all.begin() + static_cast<long>(blocks * data_fraction));
    std::sort(chosen.begin(), chosen.end());
  }
  for (uint64_t b : chosen) {
    for (auto& v : block) v = rng();
    if (pwrite(fd, block.data(), kMiB, static_cast<off_t>(b * kMiB)) != static_cast<ssize_t>(kMiB))
      std::perror("pwrite");
  }
  close(fd);
}

struct Result {
  std::string tool;
  double seconds = 0;
  uint64_t allocated = 0;
  long rss_kib = 0;
  bool ok = false;
};

class Bench {
 public:
  explicit Bench(Args a) : args_(std::move(a)) {}

  int Run() {
    hoist::log::SetLevel(hoist::log::Level::kWarn);
    fs::create_directories(args_.dir + "/www");
    struct Img {
      std::string name;
      uint64_t size;
      double data;
    };
    std::vector<Img> images = {{"sparse-10pct.raw", args_.sparse_gib << 30, 0.10},
                               {"random.raw", args_.random_gib << 30, 1.0}};
    for (const auto& i : images) {
      std::printf("making %s (%llu MiB, %.0f%% data)\n", i.name.c_str(),
                  static_cast<unsigned long long>(i.size / kMiB), i.data * 100);
      std::fflush(stdout);
      MakeImage(args_.dir + "/www/" + i.name, i.size, i.data, 42);
    }
    if (!StartNginx()) return 1;
    std::map<std::string, std::map<std::string, Result>> best;  // image → tool → best run
    for (const auto& i : images) {
      std::string src = args_.dir + "/www/" + i.name;
      std::string url = "http://127.0.0.1:" + std::to_string(nginx_port_) + "/" + i.name;
      for (int run = 0; run < args_.runs; ++run) {
        for (auto& r : {CurlDd(url, src), CurlO(url, src), NbdCopy(url, src), QemuImg(url, src),
                        Hoist(url, src, i.size), HoistOvirt(src, i.size)}) {
          auto& b = best[i.name][r.tool];
          if (!r.ok) {
            std::printf("  %-28s run %d FAILED\n", r.tool.c_str(), run + 1);
            continue;
          }
          if (b.seconds == 0 || r.seconds < b.seconds) b = r;
        }
      }
      Report(i.name, i.size, best[i.name]);
    }
    StopNginx();
    ReportOvirtScaling(images[0].name, images[0].size, images[1].name, images[1].size, best);
    return 0;
  }

 private:
  std::string Out() { return args_.dir + "/out.img"; }  // .img: the sink creates it (Filesystem)
  void Clean() {
    fs::remove(Out());
    sync_point();
  }
  static void sync_point() {}

  Result Finish(const std::string& tool, Clock::time_point t0, long rss, bool ok, const std::string& src) {
    Result r;
    r.tool = tool;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.allocated = Allocated(Out());
    r.rss_kib = rss;
    r.ok = ok && SameContent(src, Out());
    if (ok && !r.ok) std::printf("  %s: output differs from the source!\n", tool.c_str());
    fs::remove(Out());
    return r;
  }

  bool StartNginx() {
    nginx_port_ = FreePort();
    std::string conf = args_.dir + "/nginx.conf";
    std::ofstream(conf) << "daemon off;\nmaster_process on;\nworker_processes 2;\nuser root;\npid "
                        << args_.dir << "/nginx.pid;\nerror_log " << args_.dir
                        << "/nginx-error.log;\nevents { worker_connections 256; }\n"
                        << "http {\n access_log off;\n sendfile on;\n tcp_nopush on;\n client_body_temp_path "
                        << args_.dir << "/tmp;\n proxy_temp_path " << args_.dir
                        << "/tmp;\n fastcgi_temp_path " << args_.dir << "/tmp;\n uwsgi_temp_path "
                        << args_.dir << "/tmp;\n scgi_temp_path " << args_.dir
                        << "/tmp;\n default_type application/octet-stream;\n server {\n  listen 127.0.0.1:"
                        << nginx_port_ << ";\n  root " << args_.dir << "/www;\n }\n}\n";
    fs::create_directories(args_.dir + "/tmp");
    nginx_ = Spawn({"/usr/sbin/nginx", "-c", conf, "-p", args_.dir}, -1, -1, args_.dir + "/nginx.log");
    for (int i = 0; i < 100; ++i) {
      hoist::net::HttpClient c;
      hoist::net::HttpRequest r;
      r.method = "HEAD";
      r.url = "http://127.0.0.1:" + std::to_string(nginx_port_) + "/random.raw";
      try {
        if (c.Do(r).status == 200) return true;
      } catch (...) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::printf("nginx did not start (see %s/nginx-error.log)\n", args_.dir.c_str());
    return false;
  }
  void StopNginx() {
    kill(nginx_, SIGTERM);
    waitpid(nginx_, nullptr, 0);
  }
  static uint16_t FreePort() {
    hoist::net::HttpClient c;  // (unused; keeps libcurl initialised)
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }

  Result CurlDd(const std::string& url, const std::string& src) {
    auto t0 = Clock::now();
    int p[2];
    if (pipe(p) != 0) return {};
    pid_t curl = Spawn({"curl", "-s", "--fail", url}, -1, p[1]);
    close(p[1]);
    pid_t dd = Spawn({"dd", "of=" + Out(), "bs=1M", "conv=sparse", "status=none"}, p[0], -1);
    close(p[0]);
    bool ok1 = false, ok2 = false;
    long r1 = WaitRss(curl, &ok1), r2 = WaitRss(dd, &ok2);
    return Finish("curl | dd conv=sparse", t0, std::max(r1, r2), ok1 && ok2, src);
  }

  Result CurlO(const std::string& url, const std::string& src) {
    auto t0 = Clock::now();
    bool ok = false;
    long rss = WaitRss(Spawn({"curl", "-s", "--fail", "-o", Out(), url}), &ok);
    return Finish("curl -o", t0, rss, ok, src);
  }

  // nbdkit's curl plugin serves the URL as an NBD export on a Unix socket.
  pid_t StartNbdkit(const std::string& url, std::string* sock) {
    *sock = args_.dir + "/nbd.sock";
    fs::remove(*sock);
    pid_t pid =
        Spawn({"nbdkit", "-f", "-r", "-U", *sock, "curl", "url=" + url}, -1, -1, args_.dir + "/nbdkit.log");
    for (int i = 0; i < 200 && !fs::exists(*sock); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return pid;
  }

  Result NbdCopy(const std::string& url, const std::string& src) {
    std::string sock;
    auto t0 = Clock::now();
    pid_t nbdkit = StartNbdkit(url, &sock);
    bool ok = false;
    { std::ofstream(Out()).close(); }
    long rss = WaitRss(Spawn({"nbdcopy", "nbd+unix:///?socket=" + sock, Out()}), &ok);
    long server = VmHwmKiB(nbdkit);
    kill(nbdkit, SIGTERM);
    waitpid(nbdkit, nullptr, 0);
    return Finish("nbdcopy (nbdkit curl)", t0, std::max(rss, server), ok, src);
  }

  Result QemuImg(const std::string& url, const std::string& src) {
    std::string sock;
    auto t0 = Clock::now();
    pid_t nbdkit = StartNbdkit(url, &sock);
    bool ok = false;
    long rss = WaitRss(
        Spawn({"qemu-img", "convert", "-f", "raw", "-O", "raw", "-W", "nbd+unix:///?socket=" + sock, Out()}),
        &ok);
    long server = VmHwmKiB(nbdkit);
    kill(nbdkit, SIGTERM);
    waitpid(nbdkit, nullptr, 0);
    return Finish("qemu-img convert (nbdkit)", t0, std::max(rss, server), ok, src);
  }

  // hoist's downloader and sink, in a child process so that its peak RSS is its own.
  Result Hoist(const std::string& url, const std::string& src, uint64_t size) {
    auto t0 = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      try {
        hoist::net::HttpClient client;
        hoist::populators::CopyPlan plan;
        plan.what = url;
        plan.volume_path = Out();
        plan.size = size;
        plan.source_identity = url;
        plan.target.url = url;
        plan.target.what = url;
        plan.download.connections = args_.connections;
        hoist::prom::Counter progress;
        hoist::populators::CopyImage(client, plan, progress, nullptr, {});
        _exit(0);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hoist: %s\n", e.what());
        _exit(1);
      }
    }
    bool ok = false;
    long rss = WaitRss(pid, &ok);
    return Finish("hoist (ranged connections)", t0, rss, ok, src);
  }

  // hoist-populator ovirt (the real program) against the lab's engine + imageio over HTTPS.
  Result HoistOvirt(const std::string& src, uint64_t size) {
    hoist::lab::sim::ovirt::Simulator sim;
    sim.Start();
    sim.AddDisk({"bench-disk", "bench", src, ""});
    auto t0 = Clock::now();
    std::string ca = args_.dir + "/ovirt-ca.pem";
    std::ofstream(ca) << sim.ca_pem();
    std::vector<std::string> argv = {args_.bin_dir + "/hoist-populator",
                                     "ovirt",
                                     "--engine-url=" + sim.engine_url(),
                                     "--disk-id=bench-disk",
                                     "--volume-path=" + Out(),
                                     "--owner-uid=bench",
                                     "--pvc-size=" + std::to_string(size),
                                     "--metrics-listen=127.0.0.1:0",
                                     "--final-scrape-wait=0",
                                     "--verify=false"};
    std::string pem = sim.ca_pem();
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    std::string e1 = "user=admin@internal", e2 = "password=ovirt-lab", e3 = "cacert=" + pem,
                e4 = "PATH=/usr/bin:/bin";
    char* envp[] = {e1.data(), e2.data(), e3.data(), e4.data(), nullptr};
    pid_t pid = fork();
    if (pid == 0) {
      int l = open((args_.dir + "/hoist-ovirt.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(l, 1);
      dup2(l, 2);
      execve(a[0], a.data(), envp);
      _exit(127);
    }
    bool ok = false;
    long rss = WaitRss(pid, &ok);
    Result r = Finish("hoist-populator ovirt (extents)", t0, rss, ok, src);
    sim.Stop();
    return r;
  }

  void Report(const std::string& image, uint64_t size, const std::map<std::string, Result>& results) {
    std::printf("\n%s: %llu MiB virtual, %llu MiB allocated in the source, best of %d runs\n", image.c_str(),
                static_cast<unsigned long long>(size / kMiB),
                static_cast<unsigned long long>(Allocated(args_.dir + "/www/" + image) / kMiB), args_.runs);
    std::printf("  %-32s %10s %14s %12s\n", "tool", "MiB/s", "allocated MiB", "peak RSS MiB");
    double best_peer = 0;
    std::string best_name;
    for (const auto& [tool, r] : results) {
      if (r.seconds <= 0) continue;
      double mibs = static_cast<double>(size) / kMiB / r.seconds;
      std::printf("  %-32s %10.0f %14.1f %12.1f\n", tool.c_str(), mibs, r.allocated / double(kMiB),
                  r.rss_kib / 1024.0);
      if (tool.rfind("hoist", 0) != 0 && mibs > best_peer) {
        best_peer = mibs;
        best_name = tool;
      }
    }
    auto it = results.find("hoist (ranged connections)");
    if (it != results.end() && it->second.seconds > 0 && best_peer > 0) {
      double mibs = static_cast<double>(size) / kMiB / it->second.seconds;
      uint64_t source_allocated = Allocated(args_.dir + "/www/" + image);
      std::printf(
          "  hoist / best peer (%s): %.2fx   output no larger than the source's data: %s   RSS <= 64 MiB: "
          "%s\n",
          best_name.c_str(), mibs / best_peer,
          it->second.allocated <= source_allocated + 4 * kMiB ? "yes" : "no",
          it->second.rss_kib <= 64 * 1024 ? "yes" : "no");
    }
    auto ov = results.find("hoist-populator ovirt (extents)");
    if (ov != results.end() && ov->second.seconds > 0) {
      std::printf("  hoist-populator ovirt: %.3f s per virtual GiB\n",
                  ov->second.seconds / (double(size) / (1ull << 30)));
    }
    std::fflush(stdout);
  }

  // Whether the oVirt populator's time follows the allocated data: its seconds per virtual GiB on the
  // sparse and the random image, and the same beyond its fixed steps (engine login, the transfer's
  // initializing and finalizing phases, process start), measured by copying an all-zero disk of the
  // sparse image's size, which has no data extent to fetch.
  void ReportOvirtScaling(const std::string& sparse, uint64_t sparse_size, const std::string& random,
                          uint64_t random_size, std::map<std::string, std::map<std::string, Result>>& best) {
    const std::string tool = "hoist-populator ovirt (extents)";
    const Result& s = best[sparse][tool];
    const Result& r = best[random][tool];
    if (s.seconds <= 0 || r.seconds <= 0) return;
    std::string zero = args_.dir + "/www/zero.raw";
    MakeImage(zero, sparse_size, 0.0, 1);
    double fixed = 0;
    for (int run = 0; run < args_.runs; ++run) {
      Result z = HoistOvirt(zero, sparse_size);
      if (z.ok && (fixed == 0 || z.seconds < fixed)) fixed = z.seconds;
    }
    fs::remove(zero);
    auto per_gib = [](double seconds, uint64_t size) { return seconds / (double(size) / (1ull << 30)); };
    double sg = per_gib(s.seconds, sparse_size), rg = per_gib(r.seconds, random_size);
    std::printf("\nhoist-populator ovirt, seconds per virtual GiB: %s %.3f, %s %.3f (ratio %.2f)\n", sparse.c_str(), sg,
                random.c_str(), rg, sg / rg);
    if (fixed <= 0) return;
    double sb = per_gib(std::max(0.0, s.seconds - fixed), sparse_size);
    double rb = per_gib(std::max(0.0, r.seconds - fixed), random_size);
    std::printf(
        "  an all-zero disk of %llu MiB (no data extent) takes %.3f s: the transfer's fixed steps\n"
        "  beyond them, per virtual GiB: %s %.3f, %s %.3f (ratio %.2f; the data fractions' ratio is %.2f)\n",
        static_cast<unsigned long long>(sparse_size / kMiB), fixed, sparse.c_str(), sb, random.c_str(), rb,
        rb > 0 ? sb / rb : 0.0,
        double(Allocated(args_.dir + "/www/" + sparse)) / double(sparse_size) /
            (double(Allocated(args_.dir + "/www/" + random)) / double(random_size)));
    std::fflush(stdout);
  }

  Args args_;
  pid_t nginx_ = -1;
  uint16_t nginx_port_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  std::string base = fs::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto val = [&](const std::string& flag) {
      return s.rfind(flag + "=", 0) == 0 ? s.substr(flag.size() + 1) : "";
    };
    if (!val("--sparse-gib").empty())
      a.sparse_gib = std::stoull(val("--sparse-gib"));
    else if (!val("--random-gib").empty())
      a.random_gib = std::stoull(val("--random-gib"));
    else if (!val("--runs").empty())
      a.runs = std::stoi(val("--runs"));
    else if (!val("--connections").empty())
      a.connections = std::stoi(val("--connections"));
    else if (!val("--dir").empty())
      base = val("--dir");
    else if (!val("--hoist-bin").empty())
      a.bin_dir = val("--hoist-bin");
    else {
      std::printf(
          "usage: bench_disk_copy [--sparse-gib=4] [--random-gib=2] [--runs=3] [--connections=4] "
          "[--dir=/dev/shm] [--hoist-bin=DIR]\n");
      return 2;
    }
  }
  if (a.bin_dir.empty()) {
    const char* d = std::getenv("HOIST_BIN_DIR");
    a.bin_dir = d ? d : (fs::path(argv[0]).parent_path().parent_path() / "src").string();
  }
  std::string tmpl = base + "/hoist-bench-copy-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  a.dir = tmpl;
  for (const char* tool : {"nginx", "curl", "dd", "nbdkit", "nbdcopy", "qemu-img"}) {
    if (std::system((std::string("command -v ") + tool + " >/dev/null").c_str()) != 0 &&
        !fs::exists(std::string("/usr/sbin/") + tool)) {
      std::printf("%s is missing: run scripts/setup.sh\n", tool);
      return 1;
    }
  }
  int rc = Bench(a).Run();
  fs::remove_all(a.dir);
  return rc;
}
