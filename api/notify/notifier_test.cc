// The notifier end to end: a real ledger whose outbox queues a reminder, a
// loopback HTTP receiver that refuses the first requests, and the outcome
// recorded once in the log.
#include "api/notify/notifier.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "api/notify/log_sender.h"
#include "api/notify/webhook_sender.h"
#include "ledger/event_format.h"
#include "projections/monitoring/notification_outbox_testing.h"
#include "tests/testing/ledger_fixture.h"

namespace wattledger::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using projections::DeliveryState;
using tcp = asio::ip::tcp;

// A webhook receiver on 127.0.0.1: answers 500 to the first `failures`
// requests (all of them when negative), then 200; remembers every request.
class Receiver {
 public:
  explicit Receiver(int failures) : failures_(failures) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    io_.stop();
    thread_.join();
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", acceptor_.local_endpoint().port(), "/hook");
  }
  std::vector<std::string> keys() const {
    absl::MutexLock lock(&mu_);
    return keys_;
  }
  std::vector<std::string> bodies() const {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      Serve(socket);
      Accept();
    });
  }
  void Serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    beast::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec) return;
    int count = 0;
    {
      absl::MutexLock lock(&mu_);
      keys_.emplace_back(request["Idempotency-Key"]);
      bodies_.push_back(request.body());
      count = static_cast<int>(keys_.size());
    }
    bool fail = failures_ < 0 || count <= failures_;
    http::response<http::string_body> response{
        fail ? http::status::internal_server_error : http::status::ok, 11};
    response.body() = fail ? "try again later" : "ok";
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  const int failures_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
};

class NotifierTest : public ::testing::Test {
 protected:
  static constexpr char kRoom[] = "B01-301";

  void SetUp() override {
    Ok(c_.AsOperator(
        testing::TariffBody(c_.Key("t"), now(), "undergraduate", now(), {{0, 5000}}, 0)));
    Ok(c_.AsOperator(testing::BuildingBody(c_.Key("b"), now(), "B01")));
    Ok(c_.AsOperator(testing::RoomBody(c_.Key("r"), now(), kRoom, "B01", 4)));
    Ok(c_.AsOperator(
        testing::OccupantBody(c_.Key("o"), now(), kRoom, "p-1", "undergraduate", "card-1")));
  }

  int64_t now() const { return c_.now_us(); }
  static void Ok(const absl::StatusOr<ledger::AppendResult>& result) {
    ASSERT_TRUE(result.ok()) << result.status();
  }
  const projections::NotificationOutbox& outbox() { return c_.campus().outbox(); }

  // A deposit that leaves the room low (3.00 CNY): one reminder; its id.
  // With a notifier already running the reminder may be sent before this
  // looks, so it is found among all of them, newest last.
  std::string QueueReminder() {
    generation_ = outbox().generation();
    size_t before = outbox().All().size();
    auto deposit = c_.AsCashier(testing::DepositBody(c_.Key("d"), now(), kRoom, 300));
    EXPECT_TRUE(deposit.ok()) << deposit.status();
    auto all = outbox().All();
    EXPECT_EQ(all.size(), before + 1);
    EXPECT_GT(outbox().generation(), generation_);
    return all.size() == before + 1 ? all.back().id : "";
  }

  static NotifierOptions Fast(uint32_t max_attempts) {
    return NotifierOptions{.max_attempts = max_attempts,
                           .backoff_initial = absl::Milliseconds(50),
                           .backoff_max = absl::Milliseconds(200),
                           .poll_interval = absl::Milliseconds(20)};
  }

  // Waits (at most 5 s) until `id` is no longer pending.
  projections::Notification AwaitOutcome(const std::string& id) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      auto found = outbox().Find(id);
      if (found.has_value() && found->state != DeliveryState::kPending) return *found;
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "no outcome for " << id;
    return {};
  }

  // How many outcome events the log holds for `id`.
  int OutcomesInLog(const std::string& id) {
    int count = 0;
    for (uint64_t seq = 1; seq <= c_.head_seq(); ++seq) {
      auto stored = testing::ReadStoredEvent(c_.ledger().store(), seq);
      if (!stored.ok()) continue;
      auto body = ledger::ParsedBody::Parse(stored->body, ledger::kEventBodyBytesMax);
      if (!body.ok()) continue;
      auto event = body->get();
      if ((event.isNotificationSent() && event.getNotificationSent().getNotificationId() == id) ||
          (event.isNotificationFailed() &&
           event.getNotificationFailed().getNotificationId() == id)) {
        EXPECT_EQ(stored->signer, c_.t().ledger_key().key_id());
        ++count;
      }
    }
    return count;
  }

  std::unique_ptr<WebhookSender> Webhook(const std::string& url) {
    auto sender = WebhookSender::Create({.url = url, .timeout = std::chrono::milliseconds(1000)});
    EXPECT_TRUE(sender.ok()) << sender.status();
    return sender.ok() ? std::move(*sender) : nullptr;
  }

  testing::CampusLedger<projections::OutboxTestHarness> c_;
  uint64_t generation_ = 0;
};

TEST_F(NotifierTest, WebhookRetriesUntilAcceptedAndIsRecordedSentOnce) {
  Receiver receiver(2);
  std::string id = QueueReminder();
  Notifier notifier(c_.ledger(), outbox(), Webhook(receiver.url()), Fast(8));
  auto done = AwaitOutcome(id);
  notifier.Stop();
  EXPECT_EQ(done.state, DeliveryState::kSent);
  EXPECT_EQ(done.attempts, 3u);
  EXPECT_EQ(done.sender, "webhook");
  EXPECT_EQ(receiver.keys(), (std::vector<std::string>{id, id, id}));
  ASSERT_FALSE(receiver.bodies().empty());
  EXPECT_TRUE(absl::StrContains(receiver.bodies()[0], "\"kind\":\"lowBalance\""))
      << receiver.bodies()[0];
  EXPECT_TRUE(absl::StrContains(receiver.bodies()[0], "\"cardNo\":\"card-1\""));
  EXPECT_EQ(OutcomesInLog(id), 1);
}

TEST_F(NotifierTest, GivesUpAfterMaxAttemptsWithNotificationFailed) {
  Receiver receiver(-1);
  std::string id = QueueReminder();
  absl::Time start = absl::Now();
  Notifier notifier(c_.ledger(), outbox(), Webhook(receiver.url()), Fast(4));
  auto done = AwaitOutcome(id);
  notifier.Stop();
  EXPECT_EQ(done.state, DeliveryState::kFailed);
  EXPECT_EQ(done.attempts, 4u);
  EXPECT_TRUE(absl::StrContains(done.reason, "HTTP 500")) << done.reason;
  EXPECT_EQ(receiver.keys().size(), 4u);
  // Backoff 50 + 100 + 200 ms between the four attempts.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(350));
  EXPECT_EQ(OutcomesInLog(id), 1);
}

TEST_F(NotifierTest, PicksUpWhatIsQueuedWhileRunningAndRestartsQuietly) {
  Notifier notifier(c_.ledger(), outbox(), std::make_unique<LogSender>(), Fast(8));
  absl::SleepFor(absl::Milliseconds(50));
  std::string id = QueueReminder();
  auto done = AwaitOutcome(id);
  notifier.Stop();
  EXPECT_EQ(done.state, DeliveryState::kSent);
  EXPECT_EQ(done.attempts, 1u);
  EXPECT_EQ(done.sender, "log");
  // A restarted notifier finds nothing pending and records nothing.
  uint64_t head = c_.head_seq();
  {
    Receiver receiver(0);
    Notifier restarted(c_.ledger(), outbox(), Webhook(receiver.url()), Fast(8));
    absl::SleepFor(absl::Milliseconds(100));
    restarted.Stop();
    EXPECT_TRUE(receiver.keys().empty());
  }
  EXPECT_EQ(c_.head_seq(), head);
  EXPECT_EQ(OutcomesInLog(id), 1);
}

TEST_F(NotifierTest, AnUnreachableWebhookFailsAfterItsAttempts) {
  uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  std::string id = QueueReminder();
  Notifier notifier(c_.ledger(), outbox(), Webhook(absl::StrCat("http://127.0.0.1:", port)),
                    Fast(2));
  auto done = AwaitOutcome(id);
  notifier.Stop();
  EXPECT_EQ(done.state, DeliveryState::kFailed);
  EXPECT_EQ(done.attempts, 2u);
  EXPECT_TRUE(absl::StrContains(done.reason, "connecting")) << done.reason;
}

// A sender that, while sending, has the outcome recorded by someone else (as
// a notifier before a restart would have): the notifier's own outcome is then
// refused, which it takes as done.
class RecordedMeanwhileSender final : public Sender {
 public:
  RecordedMeanwhileSender(ledger::Ledger& ledger, int* sends) : ledger_(ledger), sends_(sends) {}
  absl::Status Send(const Notification& n) override {
    ++*sends_;
    auto recorded = ledger_.SubmitAsLedger(
        testing::MakeBody("earlier-run/" + n.id, ledger_.clock().NowMicros(), "notifications",
                          [&n](schema::EventBody::Builder body) {
                            auto sent = body.initNotificationSent();
                            sent.setNotificationId(n.id);
                            sent.setAttempts(1);
                            sent.setSender("log");
                          }));
    return recorded.get().status();
  }
  absl::string_view name() const override { return "webhook"; }

 private:
  ledger::Ledger& ledger_;
  int* sends_;
};

TEST_F(NotifierTest, AnOutcomeAlreadyRecordedIsTakenAsDone) {
  std::string id = QueueReminder();
  int sends = 0;
  Notifier notifier(c_.ledger(), outbox(),
                    std::make_unique<RecordedMeanwhileSender>(c_.ledger(), &sends), Fast(8));
  auto done = AwaitOutcome(id);
  absl::SleepFor(absl::Milliseconds(100));  // time for a wrong retry to show
  notifier.Stop();
  EXPECT_EQ(done.sender, "log");  // the earlier run's outcome
  EXPECT_EQ(sends, 1);
  EXPECT_EQ(OutcomesInLog(id), 1);
}

TEST(NotifierBackoff, DoublesFromOneSecondUpToAMinute) {
  NotifierOptions options;
  EXPECT_EQ(Notifier::Backoff(options, 1), absl::Seconds(1));
  EXPECT_EQ(Notifier::Backoff(options, 2), absl::Seconds(2));
  EXPECT_EQ(Notifier::Backoff(options, 3), absl::Seconds(4));
  EXPECT_EQ(Notifier::Backoff(options, 6), absl::Seconds(32));
  EXPECT_EQ(Notifier::Backoff(options, 7), absl::Seconds(60));
  EXPECT_EQ(Notifier::Backoff(options, 1000), absl::Seconds(60));
}

TEST(WebhookSenderCreate, RefusesWhatIsNotAPlainHttpUrl) {
  for (const char* url : {"https://example.org/hook", "http://", "http://:80/x", "http://host:0/x",
                          "http://host:99999/x", "ftp://host/x"}) {
    auto sender = WebhookSender::Create({.url = url});
    EXPECT_EQ(sender.status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
  EXPECT_TRUE(WebhookSender::Create({.url = "http://sms-bridge.campus:8080"}).ok());
}

}  // namespace
}  // namespace wattledger::notify
