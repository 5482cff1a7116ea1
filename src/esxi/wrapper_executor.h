#pragma once
// What the VIB and SSH executors share: the wrapper's commands and answers, and which of them are
// retried. A subclass only says how one command reaches the wrapper (Send) and how the host is
// prepared. Internal to the esxi layer.
#include <atomic>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "esxi/clone_executor.h"
#include "esxi/task_status.h"
#include "esxi/wrapper_command.h"

namespace hoist::esxi {

class WrapperExecutor : public CloneExecutor {
 public:
  const WrapperVersion& version() const override { return version_; }
  CloneTask StartClone(const CloneRequest& request) override;
  CloneTaskStatus GetStatus(const CloneTask& task, std::stop_token stop) override;
  bool Stop(const CloneTask& task) override;
  void Clean(const CloneTask& task) override;

 protected:
  explicit WrapperExecutor(ExecutorRetry retry) : retry_(retry) {}
  // Sends one wrapper command (`args` as wrapper_command.h builds them) and returns the answer.
  // Throws hoist::Error with a class: kTransient when the answer may be worth asking again for.
  virtual WrapperReply Send(const std::vector<std::string>& args, std::stop_token stop) = 0;
  // Records the version Prepare found and the capabilities it implies.
  void SetVersion(WrapperVersion v);
  bool prepared() const { return prepared_.load(std::memory_order_acquire); }
  std::string TaskWhat(const CloneTask& task) const;

  ExecutorRetry retry_;
  WrapperVersion version_;
  WrapperCapabilities caps_;

 private:
  // taskClean; true when a running clone was stopped.
  bool CleanTask(const CloneTask& task, std::stop_token stop);
  // Set once, after version_ and caps_ (which are read without a lock afterwards).
  std::atomic<bool> prepared_{false};
};

// "1.2.3" < "1.10.0"; missing parts count as 0; anything after '-' or '+' is ignored.
int CompareVersions(std::string_view a, std::string_view b);

}  // namespace hoist::esxi
