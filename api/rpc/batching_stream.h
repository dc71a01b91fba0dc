// A kj::AsyncIoStream that batches the small reads and writes Cap'n Proto
// and TLS make, so a connection with many calls in flight costs a few
// syscalls per burst instead of several per message:
//  - reads are served from a 64 KiB buffer filled by one read of the inner
//    stream (TLS record headers, message segment tables and bodies alike);
//  - writes are accepted into a buffer and flushed together once the event
//    loop has nothing else to run (write-behind): the replies to a burst of
//    calls leave in one write. Past 1 MiB unflushed, a write waits for the
//    flush (backpressure). A failed flush fails every later write.
// Used on both sides of TLS in wattd's endpoints and clients.
#pragma once

#include <kj/async-io.h>
#include <kj/vector.h>

#include <string>

namespace wattledger::rpc {

class BatchingStream final : public kj::AsyncIoStream {
 public:
  explicit BatchingStream(kj::Own<kj::AsyncIoStream> inner);

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
  kj::Promise<void> whenWriteDisconnected() override;
  void shutdownWrite() override;
  void abortRead() override;
  void getsockopt(int level, int option, void* value, kj::uint* length) override;
  void setsockopt(int level, int option, const void* value, kj::uint length) override;
  void getsockname(struct sockaddr* addr, kj::uint* length) override;
  void getpeername(struct sockaddr* addr, kj::uint* length) override;

 private:
  kj::Promise<size_t> ReadMore(kj::byte* out, size_t min_bytes, size_t max_bytes, size_t done);
  kj::Promise<void> Append(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces);
  kj::Promise<void> Flush();

  kj::Own<kj::AsyncIoStream> inner_;
  // Reads: what was read ahead and not yet handed out.
  kj::Array<kj::byte> read_buffer_;
  size_t read_begin_ = 0;
  size_t read_end_ = 0;
  // Writes: what waits for the next flush, and what the running flush sends.
  std::string pending_;
  std::string sending_;
  bool flushing_ = false;
  bool shutdown_requested_ = false;
  kj::Maybe<kj::Exception> write_failure_;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> drained_;  // a write held back by backpressure
  kj::Maybe<kj::Promise<void>> flush_;
};

}  // namespace wattledger::rpc
