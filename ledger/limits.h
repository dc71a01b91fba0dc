// Every bound the ledger enforces, in one place, passed explicitly at call
// sites. Changing one is a format or capacity decision: say why in the commit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wattledger::ledger {

inline constexpr size_t kEventBodyBytesMax = 256 * 1024;  // one signed body
inline constexpr size_t kEnvelopeBytesMax = kEventBodyBytesMax + 1024;
// Cap'n Proto's traversal limit counts every read, and projections read an
// event more than once (Check, then Apply): allow that many passes over the
// largest message, and no more, against amplification.
inline constexpr uint64_t kReaderPassesMax = 64;
inline constexpr uint64_t kReaderWordsMax = (kEnvelopeBytesMax / 8 + 64) * kReaderPassesMax;
inline constexpr size_t kIdempotencyKeyBytesMax = 128;
inline constexpr size_t kStreamNameBytesMax = 128;
inline constexpr size_t kWriterBatchEventsMax = 2048;  // events per group commit
inline constexpr size_t kSubmitQueueDepthMax = 65536;  // pending requests before kResourceExhausted
inline constexpr size_t kReadEventsMax = 10000;        // events per read call
inline constexpr size_t kReadBytesMax = 8 << 20;       // bytes per read call
inline constexpr size_t kMetersPerGatewayMax = 128;
// Write-ahead log kept before RocksDB flushes the families holding its oldest
// file: bounds the disk it takes and what every open must replay.
inline constexpr uint64_t kWalBytesMax = 256ULL << 20;
inline constexpr int64_t kDefaultTimeWindowUs = 300LL * 1000 * 1000;  // +-5 min issued-at window
inline constexpr uint64_t kDefaultCheckpointEveryEvents = 10000;
inline constexpr int64_t kDefaultCheckpointEveryUs = 10LL * 1000 * 1000;

static_assert(kEnvelopeBytesMax > kEventBodyBytesMax);
static_assert(kWriterBatchEventsMax <= kSubmitQueueDepthMax);

}  // namespace wattledger::ledger
