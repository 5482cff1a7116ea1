#include "kube/json_stream.h"

namespace hoist::kube {

bool JsonStreamSplitter::Feed(std::string_view data, const std::function<bool(std::string_view)>& on_object) {
  buffer_.append(data);
  size_t start = 0;  // where the open object begins (valid while depth_ > 0)
  for (size_t i = scan_; i < buffer_.size(); ++i) {
    char c = buffer_[i];
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (depth_ == 0) {
      // Between objects: skip whitespace (and anything else) until an object opens.
      if (c == '{' || c == '[') {
        start = i;
        depth_ = 1;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if ((c == '}' || c == ']') && --depth_ == 0) {
      if (!on_object(std::string_view(buffer_).substr(start, i + 1 - start))) {
        buffer_.clear();
        scan_ = 0;
        in_string_ = escape_ = false;
        return false;
      }
    }
  }
  if (depth_ == 0) {
    buffer_.clear();
  } else {
    buffer_.erase(0, start);
  }
  scan_ = buffer_.size();
  return true;
}

}  // namespace hoist::kube
