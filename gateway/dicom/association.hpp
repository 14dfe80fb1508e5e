// One DICOM association as the SCP: a coroutine that reads PDUs, negotiates, receives
// C-ECHO and C-STORE, streams datasets to a spool file, hands complete objects to the ingest
// pipeline and answers with its status; answers Storage Commitment requests (N-ACTION) and
// reports on them; answers C-FIND queries from county viewers and township equipment, and
// C-MOVE and C-GET from viewers. Read top to
// bottom:
//   run -> negotiate -> serve (loop: read_pdu -> on_p_data | release | abort) -> close
// A watchdog coroutine on the same strand enforces the ARTIM and idle timeouts.
// Over DICOM TLS the association starts with the handshake (a client certificate from the
// configured CA is required); the certificate's O names the township, and the calling AE
// title must be one of that township's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/auth/authenticator.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/negotiation.hpp"
#include "gateway/dicom/pdu.hpp"
#include "gateway/ingest/spool_file.hpp"
#include "gateway/query/find.hpp"
#include "gateway/server/context.hpp"
#include "gateway/store/stored_dataset.hpp"
#include "gateway/tls/tls_context.hpp"
#include "gateway/tls/tls_stream.hpp"

namespace countylink::dicom {

class Association : public std::enable_shared_from_this<Association> {
  public:
    // `tls`: the context for a DICOM TLS connection; nullptr for a plain one.
    Association(boost::asio::ip::tcp::socket socket, server::Context& context,
                std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
    ~Association();

    // Spawns the association's coroutines on its socket's strand.
    void start();

  private:
    using Clock = std::chrono::steady_clock;

    // A share of a process-wide byte budget, given back when it goes out of scope.
    class BudgetShare {
      public:
        BudgetShare() = default;
        BudgetShare(BudgetShare&& other) noexcept
            : pool_(std::exchange(other.pool_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
        BudgetShare& operator=(BudgetShare&&) = delete;
        ~BudgetShare() { release(); }
        // Gives the bytes back now.
        void release() {
            if (pool_) *pool_ -= bytes_;
            bytes_ = 0;
        }
        // Takes `n` more bytes from `pool` unless that would pass `limit`; false then.
        bool take(std::atomic<uint64_t>& pool, uint64_t n, uint64_t limit) {
            pool_ = &pool;
            if (pool.fetch_add(n) + n > limit) {
                pool -= n;
                return false;
            }
            bytes_ += n;
            return true;
        }

      private:
        std::atomic<uint64_t>* pool_ = nullptr;
        uint64_t bytes_ = 0;
    };

    // A DIMSE message being received: its command, then (maybe) its dataset in the spool.
    struct Message {
        // Declared so clang sees it as default-constructible inside the enclosing class
        // (std::optional<Message>::emplace); an implicit one is not usable there yet.
        Message() {}
        uint8_t context_id = 0;
        std::vector<std::byte> command_bytes;
        std::optional<Command> command;
        std::optional<ingest::SpoolFile> spool;
        // A small dataset (N-ACTION, C-FIND identifier) kept in `dataset`, at most this many
        // bytes; 0: an object, spooled.
        std::size_t memory_limit = 0;
        std::vector<std::byte> dataset;
        BudgetShare held;  // `dataset`'s bytes in the budget all associations share
        uint64_t dataset_bytes = 0;
        std::string refusal;  // set when the dataset is drained but not kept (too large, disk)
        Clock::time_point command_done;
    };

    boost::asio::awaitable<void> run();
    boost::asio::awaitable<bool> handshake();
    std::optional<std::string> certificate_refusal() const;  // township/AE mismatch
    audit::Event audit_event(audit::EventType type) const;
    boost::asio::awaitable<void> watchdog();
    boost::asio::awaitable<bool> negotiate();
    boost::asio::awaitable<void> serve();
    boost::asio::awaitable<PduHeader> read_pdu(std::chrono::seconds timeout) {
        return read_pdu(timeout, body_);
    }
    // Into another buffer than body_: a C-GET reads its sub-operations' responses while the
    // PDVs of the PDU that carried its request (spans into body_) are still being walked.
    boost::asio::awaitable<PduHeader> read_pdu(std::chrono::seconds timeout,
                                               std::vector<std::byte>& into);
    boost::asio::awaitable<void> on_p_data();
    boost::asio::awaitable<void> on_command(Message& message);
    void start_dataset(Message& message);
    void append_dataset(Message& message, std::span<const std::byte> data);
    boost::asio::awaitable<void> on_dataset_complete(Message& message);
    boost::asio::awaitable<void> on_commitment_request(Message& message);
    void on_commitment_report_answer(const Command& rsp);
    boost::asio::awaitable<void> on_find_request(Message& message);
    boost::asio::awaitable<void> on_move_request(Message& message);
    boost::asio::awaitable<void> on_get_request(Message& message);
    struct SubOperations;
    boost::asio::awaitable<query::Selection> select_for_retrieval(const AcceptedContext& context,
                                                                  std::vector<std::byte> bytes,
                                                                  const std::string& refusal);
    boost::asio::awaitable<void> send_retrieval_final(uint8_t context_id, const Command& rsp,
                                                      const SubOperations& subs);
    boost::asio::awaitable<void> send_move_progress(uint8_t context_id, const Command& request,
                                                    const SubOperations& subs);
    audit::Event retrieval_event(const std::string& what, const query::Selection& selection);
    boost::asio::awaitable<std::optional<uint16_t>> send_get_sub_operation(
        const store::InstanceRecord& r, bool& cancelled);
    using DatasetReader = std::function<std::size_t(std::span<std::byte>)>;
    boost::asio::awaitable<void> send_dataset(uint8_t context_id, DatasetReader read);
    boost::asio::awaitable<Command> await_store_response(uint16_t message_id, bool& cancelled);
    boost::asio::awaitable<void> send_command(uint8_t context_id, const Command& command);
    boost::asio::awaitable<void> send(std::vector<std::byte> pdu);
    void set_deadline(Clock::time_point deadline);
    void acknowledge_now();
    void abort_now(AbortReason reason, const std::string& why);
    void finish(const std::string& outcome);      // record_end, then close
    void record_end(const std::string& outcome);  // metrics and the one log line

    boost::asio::ip::tcp::socket& socket() { return stream_.next_layer(); }

    tls::TlsOrPlain<boost::asio::ip::tcp::socket> stream_;
    server::Context& ctx_;
    boost::asio::steady_timer timer_;
    Clock::time_point started_ = Clock::now();
    Clock::time_point deadline_ = Clock::time_point::max();
    bool timed_out_ = false;
    std::string peer_;
    std::string peer_address_;
    tls::PeerCertificate certificate_;
    std::string calling_ae_ = "?";
    std::string township_;
    // A county viewer's AE title names an API principal (api.principals ae_titles): it may
    // query (C-FIND) what that principal may read, and store nothing.
    std::optional<auth::Principal> viewer_;
    std::map<uint8_t, AcceptedContext> contexts_;
    uint32_t peer_max_pdu_ = 0;
    std::vector<std::byte> body_;  // the current PDU body; at most max_pdu_bytes
    std::optional<Message> message_;
    uint64_t objects_ = 0;
    uint16_t next_message_id_ = 0;  // for the requests we send (N-EVENT-REPORT)
    // Reports sent here whose answer has not come: transaction UID by our message ID.
    std::map<uint16_t, std::string> pending_reports_;
    bool finished_ = false;
    bool recorded_ = false;
};

// Accepts TCP connections on a DICOM port and starts an Association for each; `tls` gives the
// current TLS context for each new connection (nullptr result or no function: plain).
boost::asio::awaitable<void> accept_associations(
    boost::asio::ip::tcp::acceptor& acceptor, server::Context& context,
    std::function<std::shared_ptr<boost::asio::ssl::context>()> tls = {});

}  // namespace countylink::dicom
