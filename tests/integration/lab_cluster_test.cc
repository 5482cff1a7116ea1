// The lab cluster end to end: `hoist lab up` as a process, real kubectl as the client.
//  - a WaitForFirstConsumer claim used by a pod: the scheduler selects a node, the provisioner makes the
//    volume, the binder binds, the kubelet runs the pod, which writes to its volume; `kubectl logs`;
//  - a Block volume through volumeDevices;
//  - a pod's hostname and kubelet-managed /etc/hosts;
//  - SIGKILL of the lab mid-way and a restart: objects and pod phases resume sensibly.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

std::string Bin() {
  const char* d = std::getenv("HOIST_BIN_DIR");
  return std::string(d ? d : ".") + "/hoist";
}

// Runs a shell command; returns its stdout (stderr goes to the test log).
std::string Sh(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class LabCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access("/usr/bin/kubectl", X_OK), 0) << "kubectl is required (scripts/setup.sh installs it)";
    std::string tmpl = (fs::temp_directory_path() / "hoist-lab-it-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Up();
  }
  void TearDown() override {
    Sh(Bin() + " lab down --dir " + dir_ + " >/dev/null 2>&1");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Up() {
    int rc = 0;
    std::string out = Sh(Bin() + " lab up --detach --log-level warn --dir " + dir_ + " 2>&1", &rc);
    ASSERT_EQ(rc, 0) << out << ReadFile(dir_ + "/lab.log");
  }
  std::string K(const std::string& args, int* rc = nullptr) {
    return Sh("kubectl --request-timeout=10s --kubeconfig " + dir_ + "/kubeconfig " + args, rc);
  }
  std::string Apply(const std::string& yaml) {
    std::string path = dir_ + "/manifest.yaml";
    std::ofstream(path, std::ios::trunc) << yaml;
    int rc = 0;
    std::string out = K("apply -f " + path + " 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
    return out;
  }
  std::string Get(const std::string& what, const std::string& jsonpath) {
    return K("get " + what + " -o 'jsonpath=" + jsonpath + "' 2>/dev/null");
  }
  // Polls until `what`'s jsonpath equals `want` (30 s).
  ::testing::AssertionResult WaitFor(const std::string& what, const std::string& jsonpath,
                                     const std::string& want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string got;
    while (std::chrono::steady_clock::now() < deadline) {
      got = Get(what, jsonpath);
      if (got == want) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return ::testing::AssertionFailure()
           << what << " " << jsonpath << " = '" << got << "', want '" << want << "'\n"
           << K("get pods,pvc,pv -o wide 2>&1") << K("get events 2>&1");
  }
  std::string dir_;
};

const char kWffcClass[] = R"yaml(
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: wffc
provisioner: csi.trident.netapp.io
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
)yaml";

TEST_F(LabCluster, WaitForFirstConsumerClaimIsProvisionedForThePodThatWritesToIt) {
  Apply(std::string(kWffcClass) + R"yaml(
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: wffc
  resources:
    requests:
      storage: 16Mi
)yaml");
  // Nothing happens to the claim until a pod uses it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Get("pvc data", "{.status.phase}"), "Pending");
  EXPECT_EQ(Get("pvc data", "{.metadata.annotations.volume\\.kubernetes\\.io/selected-node}"), "");
  EXPECT_EQ(K("get pv -o name"), "");

  Apply(R"yaml(
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  GOVMOMI_USERNAME: administrator
  ca.crt: not-a-variable-name-in-shell
  1password: dropped-because-not-a-variable-name
---
apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: docker.io/library/busybox:1.36
    command: ["sh", "-c"]
    args:
    - |
      echo "pod $MY_NAME in $MY_NS at $POD_IP user=$GOVMOMI_USERNAME greeting=$(GREETING)"
      env | grep -c '^1password=' || true
      echo "sa-namespace=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace) api=$KUBERNETES_SERVICE_HOST"
      echo hello-from-the-pod > /mnt/hoist/out.txt
      echo wrote
    env:
    - name: GREETING
      value: hi
    - name: MY_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MY_NS
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: MISSING
      valueFrom: {secretKeyRef: {name: creds, key: nope, optional: true}}
    envFrom:
    - secretRef: {name: creds}
    volumeMounts:
    - name: data
      mountPath: /mnt/hoist
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: data
)yaml");
  ASSERT_TRUE(WaitFor("pod writer", "{.status.phase}", "Succeeded"));
  std::string node = Get("pvc data", "{.metadata.annotations.volume\\.kubernetes\\.io/selected-node}");
  EXPECT_EQ(node.rfind("lab-node-", 0), 0u) << node;
  EXPECT_EQ(Get("pod writer", "{.spec.nodeName}"), node);
  EXPECT_EQ(Get("pvc data", "{.status.phase}"), "Bound");
  EXPECT_EQ(Get("pvc data", "{.metadata.annotations.volume\\.kubernetes\\.io/storage-provisioner}"),
            "csi.trident.netapp.io");
  std::string pv = Get("pvc data", "{.spec.volumeName}");
  EXPECT_EQ(Get("pv " + pv, "{.spec.csi.driver}"), "csi.trident.netapp.io");
  EXPECT_EQ(Get("pv " + pv, "{.metadata.annotations.pv\\.kubernetes\\.io/provisioned-by}"),
            "csi.trident.netapp.io");
  EXPECT_EQ(Get("pod writer", "{.status.containerStatuses[0].state.terminated.reason}"), "Completed");
  EXPECT_EQ(Get("pod writer", "{.status.containerStatuses[0].state.terminated.exitCode}"), "0");

  std::string logs = K("logs writer 2>&1");
  EXPECT_NE(logs.find("pod writer in default at 127.10."), std::string::npos) << logs;
  EXPECT_NE(logs.find("user=administrator greeting=hi"), std::string::npos) << logs;
  EXPECT_NE(logs.find("\n0\n"), std::string::npos) << logs;  // "1password" was not exported
  EXPECT_NE(logs.find("sa-namespace=default api=127.0.0.1\nwrote\n"), std::string::npos) << logs;
  std::string path = Get("pv " + pv, "{.metadata.annotations.lab\\.hoist\\.io/data-path}");
  EXPECT_EQ(ReadFile(path + "/out.txt"), "hello-from-the-pod\n");
  // The write went to the volume through the pod's own mount namespace, not to the host's mount point.
  EXPECT_FALSE(fs::exists("/mnt/hoist/out.txt"));
}

TEST_F(LabCluster, BlockVolumeIsTheDevicePathInThePod) {
  Apply(R"yaml(
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: block
provisioner: pure-csi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: disk
spec:
  accessModes: [ReadWriteOnce]
  volumeMode: Block
  storageClassName: block
  resources:
    requests:
      storage: 8Mi
---
apiVersion: v1
kind: Pod
metadata:
  name: dd
spec:
  restartPolicy: OnFailure
  containers:
  - name: dd
    image: busybox
    command: ["sh", "-c", "printf BLOCKDATA | dd of=/dev/hoist-lab-block bs=512 seek=8 conv=notrunc 2>/dev/null && echo written"]
    volumeDevices:
    - name: disk
      devicePath: /dev/hoist-lab-block
  volumes:
  - name: disk
    persistentVolumeClaim:
      claimName: disk
)yaml");
  ASSERT_TRUE(WaitFor("pod dd", "{.status.phase}", "Succeeded"));
  std::string pv = Get("pvc disk", "{.spec.volumeName}");
  std::string path = Get("pv " + pv, "{.metadata.annotations.lab\\.hoist\\.io/data-path}");
  std::string data = ReadFile(path);
  ASSERT_EQ(data.size(), 8u << 20);
  EXPECT_EQ(data.substr(4096, 9), "BLOCKDATA");
  EXPECT_EQ(data.substr(0, 4096), std::string(4096, '\0'));
  EXPECT_EQ(K("logs dd"), "written\n");
  std::error_code ec;
  EXPECT_EQ(fs::file_size("/dev/hoist-lab-block", ec), 0u);  // the host's mount point holds nothing
}

// Programs in lab pods find the address to serve on as in a real cluster: the pod's hostname resolves
// to its pod IP through the kubelet-managed /etc/hosts.
TEST_F(LabCluster, PodHostnameResolvesToItsPodIp) {
  Apply(R"yaml(
apiVersion: v1
kind: Pod
metadata:
  name: whoami
spec:
  restartPolicy: Never
  containers:
  - name: sh
    image: busybox
    command: ["sh", "-c", "echo \"name=$(hostname) env=$HOSTNAME\"; grep -v '^#' /etc/hosts | grep \"$(hostname)\""]
)yaml");
  ASSERT_TRUE(WaitFor("pod whoami", "{.status.phase}", "Succeeded"));
  std::string ip = Get("pod whoami", "{.status.podIP}");
  ASSERT_EQ(ip.rfind("127.10.", 0), 0u) << ip;
  EXPECT_EQ(K("logs whoami"), "name=whoami env=whoami\n" + ip + "\twhoami\n");
  // The host's own hostname and /etc/hosts are untouched.
  EXPECT_EQ(ReadFile("/etc/hosts").find("\twhoami\n"), std::string::npos);
}

TEST_F(LabCluster, RestartAfterSigkillResumesObjectsAndPods) {
  Apply(std::string(kWffcClass) + R"yaml(
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: keep
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: wffc
  resources:
    requests:
      storage: 1Mi
---
apiVersion: v1
kind: Pod
metadata:
  name: done
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: busybox, command: ["sh", "-c", "echo finished > /v/result; echo finished"], volumeMounts: [{name: v, mountPath: /v}]}
  volumes:
  - {name: v, persistentVolumeClaim: {claimName: keep}}
---
apiVersion: v1
kind: Pod
metadata:
  name: once
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: busybox, command: ["sleep", "1000"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: always
spec:
  restartPolicy: Always
  containers:
  - {name: c, image: busybox, command: ["sh", "-c", "echo started; exec sleep 1000"]}
)yaml");
  ASSERT_TRUE(WaitFor("pod done", "{.status.phase}", "Succeeded"));
  ASSERT_TRUE(WaitFor("pod once", "{.status.phase}", "Running"));
  ASSERT_TRUE(WaitFor("pod always", "{.status.phase}", "Running"));
  std::string pv = Get("pvc keep", "{.spec.volumeName}");
  std::string ip = Get("pod always", "{.status.podIP}");

  // Kill the lab hard, as a crash or power loss would.
  pid_t pid = std::atoi(ReadFile(dir_ + "/lab.pid").c_str());
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Up();

  EXPECT_EQ(Get("pvc keep", "{.status.phase}"), "Bound");
  EXPECT_EQ(Get("pvc keep", "{.spec.volumeName}"), pv);
  EXPECT_EQ(Get("pv " + pv, "{.status.phase}"), "Bound");
  EXPECT_EQ(Get("pod done", "{.status.phase}"), "Succeeded");
  EXPECT_EQ(K("logs done"), "finished\n");
  // restartPolicy Never: the container was lost with the node; the pod fails and says why.
  EXPECT_TRUE(WaitFor("pod once", "{.status.phase}", "Failed"));
  EXPECT_EQ(Get("pod once", "{.status.reason}"), "NodeRestart");
  EXPECT_EQ(Get("pod once", "{.status.containerStatuses[0].state.terminated.reason}"),
            "ContainerStatusUnknown");
  // restartPolicy Always: restarted, as after a node reboot, at the same address.
  EXPECT_TRUE(WaitFor("pod always", "{.status.containerStatuses[0].restartCount}", "1"));
  EXPECT_TRUE(WaitFor("pod always", "{.status.phase}", "Running"));
  EXPECT_TRUE(WaitFor("pod always", "{.status.containerStatuses[0].state.running.startedAt}",
                      Get("pod always", "{.status.containerStatuses[0].state.running.startedAt}")));
  EXPECT_EQ(Get("pod always", "{.status.podIP}"), ip);
  EXPECT_EQ(K("logs always"), "started\n");

  // Graceful deletion: SIGTERM reaches the process, the object goes.
  int rc = 0;
  std::string out = K("delete pod always --timeout=30s 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(K("get pod always --ignore-not-found -o name"), "");
}

}  // namespace
