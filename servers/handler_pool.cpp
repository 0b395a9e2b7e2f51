#include "servers/handler_pool.hpp"

namespace cmb::servers {

HandlerPool::HandlerPool(int threads) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      while (auto task = queue_.pop()) (*task)();
    });
  }
}

void HandlerPool::stop() {
  queue_.close();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
}

}  // namespace cmb::servers
