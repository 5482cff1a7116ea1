#pragma once
// The kubelet-lite's "image registry": a table from container image names to local programs.
//
// DIR/images.yaml (and `hoist lab up --image NAME=PATH`):
//   images:
//     busybox: /bin/busybox                      # short form: the image's entrypoint
//     quay.io/kubev2v/populator:                 # long form
//       entrypoint: [/opt/hoist/bin/hoist-populator, xcopy]
//       cmd: [--help]                            # default arguments (the image's CMD)
//       paths: {/usr/local/bin/populator: /opt/hoist/bin/hoist-populator}   # in-image path → local path
// A pod's image matches an entry by its full name, then without tag/digest, then by its last path
// component without tag ("docker.io/library/busybox:1.36" → "busybox").
// Command semantics follow Kubernetes: `command` replaces the entrypoint, `args` replace CMD.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hoist::lab {

struct ImageEntry {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::map<std::string, std::string> paths;
};

class ImageTable {
 public:
  // Built in: busybox (CMD sh, like the real image).
  ImageTable();
  // Reads a YAML file as above; a missing file is fine. Throws hoist::Error (kPrecondition) on a bad one.
  void LoadFile(const std::string& path);
  // "NAME=PATH" (a --image flag).
  void AddFlag(const std::string& flag);
  void Set(const std::string& image, ImageEntry entry);
  std::optional<ImageEntry> Find(const std::string& image) const;

  // The argv for a container: image entry + command/args as Kubernetes combines them, argv[0] resolved
  // through the entry's `paths` and then the search path `path_env` (colon-separated) when it is not
  // absolute. Throws hoist::Error (kPrecondition) when the image is unknown or nothing would run.
  std::vector<std::string> ResolveArgv(const std::string& image, const std::vector<std::string>& command,
                                       const std::vector<std::string>& args,
                                       const std::string& path_env) const;

 private:
  std::map<std::string, ImageEntry> images_;
  std::string source_ = "the built-in image table";
};

}  // namespace hoist::lab
