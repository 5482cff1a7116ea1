#pragma once
// The VIB clone method: the esxcli namespace `vmkfstools` that the vmkfstools-wrapper VIB adds to
// the host (`hoist esxi vib build|install`), run through remote esxcli:
//   esxcli vmkfstools version
//   esxcli vmkfstools clone -s <vmdk> -t <device>      (paths a quote could break go as hex:<bytes>)
//   esxcli vmkfstools taskGet -i <id>
//   esxcli vmkfstools taskClean -i <id>
// Each answer is the plugin's result structure {status, message(JSON)} (task_status.h).
#include <memory>

#include "esxi/clone_executor.h"
#include "esxi/esxcli_runner.h"

namespace hoist::esxi {

struct VibExecutorOptions {
  ExecutorRetry retry;
};

// `esxcli` must outlive the executor.
std::unique_ptr<CloneExecutor> MakeVibExecutor(EsxcliRunner& esxcli, VibExecutorOptions options = {});

}  // namespace hoist::esxi
