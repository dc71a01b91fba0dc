// Runs a test step on a thread of its own and waits for it: a Cap'n Proto
// RPC client owns its thread's event loop, so each client a test opens gets
// a fresh thread. Header-only.
#pragma once

#include <thread>

namespace wattledger::testing {

template <typename Fn>
void OnOwnThread(Fn fn) {
  std::thread thread(fn);
  thread.join();
}

}  // namespace wattledger::testing
