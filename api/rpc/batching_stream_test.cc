// BatchingStream over an in-memory pipe: bytes arrive complete and in order
// whatever the mix of small writes, large writes past the backpressure
// bound and small reads; a shutdown waits for what is still buffered.
#include "api/rpc/batching_stream.h"

#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <string>

namespace wattledger::rpc {
namespace {

// Reads everything until the writer shuts down, `chunk` bytes at a time at most.
kj::Promise<void> ReadAll(kj::AsyncIoStream& in, std::string& out, size_t chunk) {
  auto buffer = kj::heapArray<kj::byte>(chunk);
  auto read = in.tryRead(buffer.begin(), 1, buffer.size());
  return read.then([&in, &out, chunk, buffer = kj::mv(buffer)](size_t n) -> kj::Promise<void> {
    if (n == 0) return kj::READY_NOW;
    out.append(reinterpret_cast<const char*>(buffer.begin()), n);
    return ReadAll(in, out, chunk);
  });
}

std::string Pattern(size_t size, size_t seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed) % 251);
  return out;
}

TEST(BatchingStream, ManyWritesArriveWholeAndInOrderThenTheShutdown) {
  auto io = kj::setupAsyncIo();
  auto pipe = kj::newTwoWayPipe();
  BatchingStream writer(kj::mv(pipe.ends[0]));
  BatchingStream reader(kj::mv(pipe.ends[1]));

  std::string sent;
  kj::Promise<void> writes = kj::READY_NOW;
  // Small messages (as Cap'n Proto sends calls), then pieces past the 1 MiB
  // bound, some as several pieces in one call.
  for (size_t i = 0; i < 2000; ++i) sent += Pattern(17 + i % 50, i);
  sent += Pattern(3 * 1024 * 1024 + 7, 99);
  std::vector<std::string> pieces;
  for (size_t at = 0; at < sent.size(); at += 4096) pieces.push_back(sent.substr(at, 4096));
  for (size_t i = 0; i < pieces.size(); i += 2) {
    writes = writes.then([&writer, &pieces, i]() {
      kj::ArrayPtr<const kj::byte> parts[2];
      size_t count = 0;
      for (size_t j = i; j < std::min(i + 2, pieces.size()); ++j) {
        parts[count++] =
            kj::arrayPtr(reinterpret_cast<const kj::byte*>(pieces[j].data()), pieces[j].size());
      }
      return writer.write(kj::arrayPtr(parts, count));
    });
  }
  writes = writes.then([&writer]() { writer.shutdownWrite(); });

  std::string received;
  // Reads of 5 bytes at a time, as OpenSSL reads record headers.
  auto reading = ReadAll(reader, received, 5).eagerlyEvaluate(nullptr);
  writes.wait(io.waitScope);
  reading.wait(io.waitScope);
  ASSERT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent);
}

TEST(BatchingStream, AWriteAfterTheFlushFailedFails) {
  auto io = kj::setupAsyncIo();
  auto pipe = kj::newTwoWayPipe();
  BatchingStream writer(kj::mv(pipe.ends[0]));
  pipe.ends[1] = nullptr;  // the peer is gone
  std::string data = "hello";
  writer.write(data.data(), data.size()).wait(io.waitScope);  // accepted into the buffer
  // The flush runs and fails once the loop is idle; a later write reports it.
  auto idle = [&io]() {
    io.provider->getTimer().afterDelay(5 * kj::MILLISECONDS).wait(io.waitScope);
  };
  idle();
  bool failed = false;
  for (int i = 0; i < 10 && !failed; ++i) {
    KJ_IF_MAYBE (e, kj::runCatchingExceptions(
                        [&]() { writer.write(data.data(), data.size()).wait(io.waitScope); })) {
      failed = true;
    }
    idle();
  }
  EXPECT_TRUE(failed);
}

}  // namespace
}  // namespace wattledger::rpc
