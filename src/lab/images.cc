#include "lab/images.h"

#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "core/error.h"

namespace hoist::lab {
namespace {

std::string StripTag(const std::string& image) {
  std::string s = image;
  size_t at = s.find('@');
  if (at != std::string::npos) s = s.substr(0, at);
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) s = s.substr(0, colon);
  return s;
}

}  // namespace

ImageTable::ImageTable() {
  ImageEntry busybox;
  busybox.cmd = {"sh"};
  images_["busybox"] = busybox;
}

void ImageTable::Set(const std::string& image, ImageEntry entry) { images_[image] = std::move(entry); }

void ImageTable::AddFlag(const std::string& flag) {
  size_t eq = flag.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size())
    throw PreconditionError("--image takes NAME=PATH (an image name and a local program), got \"" + flag +
                            "\"");
  ImageEntry e;
  e.entrypoint = {flag.substr(eq + 1)};
  images_[flag.substr(0, eq)] = e;
}

void ImageTable::LoadFile(const std::string& path) {
  source_ = path;
  if (::access(path.c_str(), F_OK) != 0) return;
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node images = root["images"] ? root["images"] : root;
    if (!images.IsMap()) throw PreconditionError("the file must be a map of image name to program");
    for (auto it = images.begin(); it != images.end(); ++it) {
      std::string name = it->first.as<std::string>();
      ImageEntry e;
      if (it->second.IsScalar()) {
        e.entrypoint = {it->second.as<std::string>()};
      } else if (it->second.IsMap()) {
        if (it->second["entrypoint"]) {
          if (it->second["entrypoint"].IsScalar())
            e.entrypoint = {it->second["entrypoint"].as<std::string>()};
          else
            e.entrypoint = it->second["entrypoint"].as<std::vector<std::string>>();
        }
        if (it->second["cmd"]) e.cmd = it->second["cmd"].as<std::vector<std::string>>();
        if (it->second["paths"]) e.paths = it->second["paths"].as<std::map<std::string, std::string>>();
      } else {
        throw PreconditionError("image \"" + name +
                                "\" must map to a program path or {entrypoint, cmd, paths}");
      }
      images_[name] = std::move(e);
    }
  } catch (const YAML::Exception& e) {
    throw PreconditionError("reading the lab's image table " + path + ": " + e.what());
  } catch (const hoist::Error& e) {
    throw PreconditionError("reading the lab's image table " + path + ": " + e.what());
  }
}

std::optional<ImageEntry> ImageTable::Find(const std::string& image) const {
  if (auto it = images_.find(image); it != images_.end()) return it->second;
  std::string bare = StripTag(image);
  if (auto it = images_.find(bare); it != images_.end()) return it->second;
  size_t slash = bare.rfind('/');
  if (slash != std::string::npos)
    if (auto it = images_.find(bare.substr(slash + 1)); it != images_.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> ImageTable::ResolveArgv(const std::string& image,
                                                 const std::vector<std::string>& command,
                                                 const std::vector<std::string>& args,
                                                 const std::string& path_env) const {
  auto entry = Find(image);
  if (!entry)
    throw PreconditionError("image \"" + image + "\" is not in the lab's image table (" + source_ +
                            "); add `" + StripTag(image) +
                            ": /path/to/program` under `images:` in DIR/images.yaml "
                            "or start the lab with --image " +
                            StripTag(image) + "=/path/to/program");
  std::vector<std::string> argv;
  if (!command.empty()) {
    argv = command;
    argv.insert(argv.end(), args.begin(), args.end());
  } else {
    argv = entry->entrypoint;
    const auto& rest = args.empty() ? entry->cmd : args;
    argv.insert(argv.end(), rest.begin(), rest.end());
  }
  if (argv.empty())
    throw PreconditionError("image \"" + image +
                            "\" has no entrypoint or cmd in the lab's image table and the "
                            "container gives no command");
  if (auto it = entry->paths.find(argv[0]); it != entry->paths.end()) {
    argv[0] = it->second;
  } else if (argv[0].find('/') == std::string::npos) {
    size_t start = 0;
    while (start <= path_env.size()) {
      size_t end = path_env.find(':', start);
      if (end == std::string::npos) end = path_env.size();
      std::string dir = path_env.substr(start, end - start);
      if (!dir.empty()) {
        std::string candidate = dir + "/" + argv[0];
        if (::access(candidate.c_str(), X_OK) == 0) {
          argv[0] = candidate;
          break;
        }
      }
      start = end + 1;
    }
  }
  return argv;
}

}  // namespace hoist::lab
