#pragma once
// Splits a stream of concatenated JSON objects (a watch response body: one event object after another,
// newline-separated by the API server, but arriving in arbitrary pieces) into complete objects.
#include <functional>
#include <string>
#include <string_view>

namespace hoist::kube {

class JsonStreamSplitter {
 public:
  // Calls `on_object` with the text of every object completed by `data`. Whitespace between objects is
  // skipped. Returns false as soon as `on_object` returns false.
  bool Feed(std::string_view data, const std::function<bool(std::string_view)>& on_object);
  // Bytes of an incomplete object held back.
  size_t pending() const { return buffer_.size(); }

 private:
  std::string buffer_;
  size_t scan_ = 0;  // how far buffer_ has been scanned
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
};

}  // namespace hoist::kube
