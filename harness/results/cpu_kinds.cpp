#include "harness/results/cpu_kinds.hpp"

#include <fmt/format.h>

namespace cmb::harness {

const std::vector<CpuKind>& cpu_kinds() {
  static const std::vector<CpuKind> kKinds = {
      {"parsing",
       "reading HTTP: the request parser (ours, nginx's, llhttp, the runtimes')",
       {"RequestParser", "ngx_http_parse", "llhttp", "workload.Parse", "http_parser"}},
      {"handler",
       "the server's own code but parsing: the workload, the handler, its loop",
       {"cmb::servers::", "ngx_http_", "workload.", "burnCpu", "burn_cpu"}},
      {"scheduler",
       "switching threads: the scheduler, context switches, wake-ups",
       {"^schedule", "^__schedule", "finish_task_switch", "__switch_to", "pick_next_task",
        "context_switch", "try_to_wake_up", "^ttwu_", "enqueue_task", "dequeue_task",
        "^update_curr", "^psi_"}},
      {"locks",
       "locks and futexes: waiting for and handing over a lock",
       {"futex", "pthread_mutex", "pthread_cond", "__lll_lock", "^mutex_lock", "^mutex_unlock",
        "osq_lock", "runtime.lock", "runtime.unlock"}},
      {"alloc",
       "memory allocation: malloc and free, the kernel's allocators, a runtime's",
       {"malloc", "^free", "_int_free", "tcache", "operator new", "operator delete", "kmem_cache",
        "kmalloc", "kfree", "__alloc_pages", "page_fault", "runtime.mallocgc"}},
      {"tcp",
       "the TCP/IP stack: sending and receiving, loopback, socket buffers",
       {"^tcp_", "^ip_", "^inet_", "^sock_", "^sk_", "^skb_", "^net_rx", "^netif_", "^napi_",
        "^dev_", "loopback_xmit", "^__dev_queue_xmit", "^ipv4_"}},
      {"syscall",
       "system calls outside the kinds above: entry and exit, and their own work (epoll's, file "
       "descriptors')",
       {"entry_SYSCALL", "do_syscall_64", "syscall_exit", "syscall_enter", "exit_to_user_mode",
        "^__x64_sys_", "^ksys_", "^__fget", "^fput", "^__fdget"}},
      {"other", "everything else: the runtime, the interpreter, libraries, idle", {}},
  };
  return kKinds;
}

namespace {

bool matches(std::string_view symbol, std::string_view pattern) {
  if (!pattern.starts_with('^')) return symbol.find(pattern) != std::string_view::npos;
  pattern.remove_prefix(1);
  while (symbol.starts_with('_') && !pattern.starts_with('_')) symbol.remove_prefix(1);
  return symbol.starts_with(pattern);
}

}  // namespace

size_t classify_stack(const std::vector<std::string_view>& frames_leaf_first) {
  const auto& kinds = cpu_kinds();
  for (const std::string_view frame : frames_leaf_first)
    for (size_t kind = 0; kind < kinds.size(); ++kind)
      for (const std::string_view pattern : kinds[kind].patterns)
        if (matches(frame, pattern)) return kind;
  return kinds.size() - 1;
}

std::string cpu_kind_column(std::string_view kind) {
  return fmt::format("cpu_{}_us_per_request", kind);
}

}  // namespace cmb::harness
