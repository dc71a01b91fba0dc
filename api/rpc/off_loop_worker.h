// Runs blocking work (a report that replays the log, a scan of the whole
// log) on a thread of its own so Cap'n Proto's event loop keeps serving:
// jobs run one at a time, in order, and each resolves a promise on the loop
// that queued it. Destroying the worker finishes the running job, drops the
// queued ones (their promises reject) and joins the thread.
#pragma once

#include <kj/async.h>
#include <kj/mutex.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace wattledger::rpc {

class OffLoopWorker {
 public:
  OffLoopWorker();
  ~OffLoopWorker();
  OffLoopWorker(const OffLoopWorker&) = delete;
  OffLoopWorker& operator=(const OffLoopWorker&) = delete;

  // Runs `job` on the worker; the promise resolves on the calling loop with
  // its result, boxed (kj::Own) so any T crosses threads.
  template <typename T>
  kj::Promise<kj::Own<T>> Run(std::function<T()> job) {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<kj::Own<T>>();
    auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<kj::Own<T>>>>(
        kj::mv(paf.fulfiller));
    Post([job = std::move(job), fulfiller]() { (*fulfiller)->fulfill(kj::heap<T>(job())); });
    return kj::mv(paf.promise);
  }

 private:
  void Post(std::function<void()> job);
  void Work();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wattledger::rpc
