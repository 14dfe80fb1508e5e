#include "gateway/dicom/association.hpp"
#include "gateway/server/clock.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <limits>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/storage_commitment.hpp"
#include "codecs/dicom/transcode.hpp"
#include "gateway/dicom/commitment_report_scu.hpp"
#include "gateway/dicom/store_scu.hpp"
#include "gateway/query/find.hpp"
#include "gateway/query/visibility.hpp"
#include "gateway/server/run_on.hpp"
#include "gateway/store/commitment.hpp"
#include "gateway/store/stored_dataset.hpp"

namespace countylink::dicom {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxAssociateRq = 1 << 20;  // generous: 128 contexts need ~16 KiB
constexpr std::size_t kMaxCommandSet = 64 * 1024;
// A Storage Commitment request is held in memory: ~120 bytes per instance, so 16 MiB covers
// 100,000 instances, far beyond one study.
constexpr std::size_t kMaxCommitmentRequest = 16u << 20;
// All associations together: 4,000 associations at 16 MiB each must not take 64 GB.
constexpr uint64_t kMaxCommitmentRequestsHeld = 64u << 20;
// A request trickled in slower than this gives its share back and is refused (0x0213).
constexpr std::chrono::seconds kCommitmentRequestTime{60};
// Reports to equipment that takes them on an association of its own: 5 tries over ~2.5 min.
constexpr int kReportAttempts = 5;
constexpr std::chrono::seconds kReportFirstRetry{10};
// A C-FIND identifier is a few dozen keys; 64 KiB is far beyond any real one.
constexpr std::size_t kMaxIdentifier = 64 * 1024;

// Error Comment is VR LO: 64 characters, no backslash or control characters.
std::string error_comment(std::string text) {
    for (char& c : text) {
        if (c == '\\' || static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    if (text.size() > 64) text.resize(64);
    return text;
}

tls::TlsOrPlain<asio::ip::tcp::socket> make_stream(asio::ip::tcp::socket socket,
                                                   std::shared_ptr<asio::ssl::context> tls) {
    if (tls) return tls::TlsOrPlain<asio::ip::tcp::socket>(std::move(socket), std::move(tls));
    return tls::TlsOrPlain<asio::ip::tcp::socket>(std::move(socket));
}

// Thrown inside the association to end it with an A-ABORT.
struct AbortAssociation {
    AbortReason reason;
    std::string why;
};

// The stored object `r` decompressed to `to` (Explicit or Implicit VR Little Endian) in a spool
// file, for a viewer or destination that takes no compressed syntax; the blob is never changed.
// Throws std::runtime_error with the reason. Blocking, whole object in memory: a worker's.
ingest::SpoolFile converted_copy(ingest::Spool& spool, store::BlobStore& blobs,
                                 const store::InstanceRecord& r, const std::string& to) {
    namespace cd = codecs::dicom;
    if (!cd::can_transcode(r.transfer_syntax_uid, to)) {
        throw std::runtime_error("no decoder for " + r.transfer_syntax_uid);
    }
    if (r.raw_size > cd::kMaxTranscodeBytes) {
        throw std::runtime_error("too large to convert (" + std::to_string(r.raw_size >> 20) +
                                 " MiB)");
    }
    const ingest::SpoolFile stored = ingest::spooled_copy(spool, blobs.open(r.sha256));
    ingest::SpoolFile out(spool);
    out.close();
    const std::string error = cd::transcode_dataset(stored.path(), out.path(), to);
    out.adopt_written();  // DCMTK wrote it by name: the spool must know its length
    if (!error.empty()) throw std::runtime_error(error);
    return out;
}

}  // namespace

Association::Association(asio::ip::tcp::socket connection, server::Context& context,
                         std::shared_ptr<asio::ssl::context> tls)
    : stream_(make_stream(std::move(connection), std::move(tls))),
      ctx_(context),
      timer_(stream_.get_executor()) {
    error_code ec;
    const auto remote = socket().remote_endpoint(ec);
    peer_address_ = ec ? "?" : remote.address().to_string();
    peer_ = ec ? "?" : peer_address_ + ":" + std::to_string(remote.port());
    socket().set_option(asio::ip::tcp::no_delay(true), ec);
    ++ctx_.open_associations;
    ctx_.metrics.associations_active.inc();
}

Association::~Association() {
    --ctx_.open_associations;
    ctx_.metrics.associations_active.dec();
}

void Association::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        stream_.get_executor(), [self]() { return self->run(); }, asio::detached);
    asio::co_spawn(
        stream_.get_executor(), [self]() { return self->watchdog(); }, asio::detached);
}

awaitable<void> Association::watchdog() {
    while (socket().is_open()) {
        timer_.expires_at(deadline_);
        error_code ec;
        co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (!socket().is_open()) co_return;
        if (Clock::now() >= deadline_) {
            timed_out_ = true;
            socket().cancel(ec);  // the pending read or write fails; run() answers with A-ABORT
            co_return;
        }
    }
}

// Senders that leave Nagle on (most modalities) hold their last small segment until our ACK;
// Linux delays ACKs by up to 40 ms. Quick-ACK mode is not sticky, so it is set after each PDU.
void Association::acknowledge_now() {
    const int on = 1;
    ::setsockopt(socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

// The watchdog sleeps until the timer's expiry; a deadline earlier than that wakes it to re-arm.
void Association::set_deadline(Clock::time_point deadline) {
    deadline_ = deadline;
    if (deadline < timer_.expiry()) timer_.cancel();
}

awaitable<void> Association::run() {
    try {
        if (co_await handshake() && co_await negotiate()) co_await serve();
    } catch (const AbortAssociation& a) {
        abort_now(a.reason, a.why);
    } catch (const PduError& e) {
        abort_now(e.reason, e.what());
    } catch (const DimseError& e) {
        abort_now(AbortReason::invalid_pdu_parameter_value, e.what());
    } catch (const boost::system::system_error& e) {
        if (timed_out_) {
            abort_now(AbortReason::not_specified, "timeout: no complete PDU in time");
        } else {
            finish(e.code() == asio::error::eof ? "connection_closed" : "connection_error");
        }
    } catch (const std::exception& e) {
        ctx_.log.error("association ", peer_, " failed: ", e.what());
        abort_now(AbortReason::not_specified, "internal error");
    }
    timer_.cancel();
}

audit::Event Association::audit_event(audit::EventType type) const {
    audit::Event e;
    e.type = type;
    e.user = calling_ae_;
    e.role = "equipment";
    e.township = township_.empty() ? certificate_.organization : township_;
    e.certificate = certificate_.subject;
    e.address = peer_address_;
    e.destination = stream_.is_tls() ? "DICOM TLS" : "DICOM";
    return e;
}

// DICOM TLS: the handshake under the ARTIM timer. A missing, expired or foreign certificate
// ends the connection here, before any PDU (audited, and counted as a refusal).
awaitable<bool> Association::handshake() {
    if (!stream_.is_tls()) co_return true;
    set_deadline(Clock::now() + std::chrono::seconds(ctx_.config.dicom.artim_timeout_s));
    error_code ec;
    stream_.remember_refused_certificate();
    co_await stream_.async_handshake(asio::redirect_error(use_awaitable, ec));
    deadline_ = Clock::time_point::max();
    if (!ec) {
        certificate_ = tls::peer_certificate(stream_.native_tls());
        co_return true;
    }
    const std::string why = timed_out_ ? "TLS handshake timed out"
                                       : "TLS handshake refused: " +
                                             tls::handshake_failure(stream_.native_tls(), ec,
                                                                    stream_.refused_certificate());
    ctx_.log.warn("DICOM TLS connection from ", peer_, ": ", why);
    ctx_.metrics.refusals_total.with({"tls_handshake"}).inc();
    audit::Event e = audit_event(audit::EventType::refusal);
    e.user = "";
    e.outcome = audit::Outcome::serious_failure;
    e.description = why;
    ctx_.audit.record(e);
    finish("tls_refused");
    co_return false;
}

// Over TLS the certificate's O names the township; the calling AE must be one of its titles.
std::optional<std::string> Association::certificate_refusal() const {
    if (!stream_.is_tls()) return std::nullopt;
    if (certificate_.organization.empty()) {
        return "client certificate has no O (organisation) naming its township";
    }
    if (!ctx_.config.township_lists(certificate_.organization, calling_ae_)) {
        return "calling AE title '" + calling_ae_ + "' is not one of township '" +
               certificate_.organization + "' (certificate " + certificate_.subject + ")";
    }
    return std::nullopt;
}

// Waits for the A-ASSOCIATE-RQ under the ARTIM timer and answers it with AC or RJ.
awaitable<bool> Association::negotiate() {
    const auto header = co_await read_pdu(std::chrono::seconds(ctx_.config.dicom.artim_timeout_s));
    if (header.type != PduType::associate_rq) {
        throw AbortAssociation{AbortReason::unexpected_pdu, "expected A-ASSOCIATE-RQ"};
    }
    const AssociateRq rq = decode_associate_rq(body_);
    calling_ae_ = rq.calling_ae;

    auto decision = dicom::negotiate(rq, ctx_.config, peer_address_);
    if (const auto mismatch = certificate_refusal()) {
        decision = Rejected{reject::calling_ae_not_recognized, *mismatch};
    }
    std::optional<Rejected> refusal;
    if (auto* rejected = std::get_if<Rejected>(&decision)) {
        refusal = *rejected;
    } else if (ctx_.open_associations > ctx_.config.dicom.max_associations) {
        refusal = Rejected{reject::local_limit_exceeded, "association limit reached"};
    }
    if (refusal) {
        co_await send(encode(refusal->rj));
        ctx_.log.warn("association from ", peer_, " AE '", calling_ae_,
                      "' rejected: ", refusal->why);
        const bool limit = refusal->rj.result == reject::local_limit_exceeded.result;
        ctx_.metrics.refusals_total.with({limit ? "association_limit" : "association_rejected"})
            .inc();
        audit::Event e = audit_event(audit::EventType::refusal);
        e.outcome = audit::Outcome::minor_failure;
        e.description = "association rejected: " + refusal->why;
        ctx_.audit.record(e);
        finish("rejected");
        co_return false;
    }
    auto& accepted = std::get<Accepted>(decision);
    township_ = accepted.township;
    if (accepted.viewer) {
        const config::Principal& p = *accepted.viewer;
        viewer_ = auth::Principal{p.name, p.role, p.township, p.queues, {}};
    }
    if (!accepted.note.empty()) {
        ctx_.log.warn("association from ", peer_, " AE '", calling_ae_, "': ", accepted.note);
    }
    contexts_ = std::move(accepted.contexts);
    peer_max_pdu_ = accepted.peer_max_pdu;
    co_await send(encode(accepted.ac));
    ctx_.log.debug("association from ", peer_, " AE '", calling_ae_, "' (", township_,
                   ") accepted, ", contexts_.size(), "/", rq.contexts.size(), " contexts");
    co_return true;
}

// The established association: P-DATA until release or abort.
awaitable<void> Association::serve() {
    for (;;) {
        const auto header =
            co_await read_pdu(std::chrono::seconds(ctx_.config.dicom.idle_timeout_s));
        switch (header.type) {
            case PduType::p_data:
                co_await on_p_data();
                break;
            case PduType::release_rq:
                if (message_) {
                    throw AbortAssociation{AbortReason::unexpected_pdu,
                                           "A-RELEASE-RQ in the middle of a message"};
                }
                // Counted and logged before the answer, so a sender that has its A-RELEASE-RP
                // finds the association in the log and metrics.
                record_end("released");
                co_await send(encode_release_rp());
                finish("released");
                co_return;
            case PduType::abort:
                finish("aborted_by_peer");
                co_return;
            default:
                throw AbortAssociation{
                    AbortReason::unexpected_pdu,
                    "unexpected PDU type " + std::to_string(static_cast<int>(header.type))};
        }
    }
}

// Reads one whole PDU into body_, refusing lengths beyond what its type may have.
awaitable<PduHeader> Association::read_pdu(std::chrono::seconds timeout,
                                           std::vector<std::byte>& into) {
    set_deadline(Clock::now() + timeout);
    std::array<std::byte, kPduHeaderSize> raw{};
    co_await asio::async_read(stream_, asio::buffer(raw), use_awaitable);
    const PduHeader header = decode_header(raw);

    std::size_t limit = 0;
    switch (header.type) {
        case PduType::associate_rq:
        case PduType::associate_ac:
            limit = kMaxAssociateRq;
            break;
        case PduType::p_data:
            limit = ctx_.config.dicom.max_pdu_bytes + 16;
            break;
        default:
            limit = 4;
            if (header.length != 4) {
                throw PduError(AbortReason::invalid_pdu_parameter_value,
                               "PDU length " + std::to_string(header.length) + " where 4 is fixed");
            }
    }
    if (header.length > limit) {
        throw PduError(AbortReason::invalid_pdu_parameter_value,
                       "PDU length " + std::to_string(header.length) + " exceeds the limit of " +
                           std::to_string(limit));
    }
    into.resize(header.length);
    co_await asio::async_read(stream_, asio::buffer(into), use_awaitable);
    acknowledge_now();
    deadline_ = Clock::time_point::max();
    co_return header;
}

awaitable<void> Association::on_p_data() {
    for (const Pdv& pdv : decode_p_data(body_)) {
        if (!contexts_.contains(pdv.context_id)) {
            throw AbortAssociation{AbortReason::invalid_pdu_parameter_value,
                                   "PDV for presentation context " +
                                       std::to_string(pdv.context_id) + " which was not accepted"};
        }
        if (!message_) message_.emplace().context_id = pdv.context_id;
        Message& m = *message_;
        if (pdv.context_id != m.context_id) {
            throw AbortAssociation{AbortReason::unexpected_pdu_parameter,
                                   "PDV switches presentation context inside a message"};
        }
        if (pdv.is_command) {
            if (m.command) {
                throw AbortAssociation{AbortReason::unexpected_pdu_parameter,
                                       "command fragment after the command was complete"};
            }
            if (m.command_bytes.size() + pdv.data.size() > kMaxCommandSet) {
                throw AbortAssociation{AbortReason::invalid_pdu_parameter_value,
                                       "command set larger than 64 KiB"};
            }
            m.command_bytes.insert(m.command_bytes.end(), pdv.data.begin(), pdv.data.end());
            if (pdv.is_last) co_await on_command(m);
        } else {
            if (!m.command || !m.command->has_data_set()) {
                throw AbortAssociation{AbortReason::unexpected_pdu_parameter,
                                       "dataset fragment without a command announcing one"};
            }
            append_dataset(m, pdv.data);
            if (pdv.is_last) co_await on_dataset_complete(m);  // answers and ends `m`
        }
    }
}

awaitable<void> Association::on_command(Message& m) {
    m.command = decode_command(m.command_bytes);
    m.command_bytes = {};
    m.command_done = Clock::now();
    const Command& cmd = *m.command;
    const auto field = static_cast<CommandField>(cmd.command_field);

    if (field == CommandField::c_store_rq && cmd.has_data_set()) {
        if (contexts_.at(m.context_id).requester_is_scp) {
            m.refusal = "viewers do not store: C-GET contexts take objects from us";  // drained
        } else {
            start_dataset(m);
        }
        co_return;
    }
    if (field == CommandField::c_store_rsp) {
        ctx_.log.warn("AE '", calling_ae_, "' answered a C-STORE outside a C-GET");
        message_.reset();
        co_return;
    }
    if (field == CommandField::n_action_rq && cmd.has_data_set() &&
        contexts_.at(m.context_id).abstract_syntax == codecs::dicom::kStorageCommitmentSopClass) {
        m.memory_limit = kMaxCommitmentRequest;  // answered by on_commitment_request
        co_return;
    }
    if (field == CommandField::c_find_rq && cmd.has_data_set() &&
        query::is_find_sop_class(contexts_.at(m.context_id).abstract_syntax)) {
        m.memory_limit = kMaxIdentifier;  // answered by on_find_request
        co_return;
    }
    if (field == CommandField::c_move_rq && cmd.has_data_set() &&
        query::is_move_sop_class(contexts_.at(m.context_id).abstract_syntax)) {
        m.memory_limit = kMaxIdentifier;  // answered by on_move_request
        co_return;
    }
    if (field == CommandField::c_get_rq && cmd.has_data_set() &&
        query::is_get_sop_class(contexts_.at(m.context_id).abstract_syntax)) {
        m.memory_limit = kMaxIdentifier;  // answered by on_get_request
        co_return;
    }
    if (field == CommandField::c_cancel_rq) {
        // Matches are computed and sent before the next PDU is read, so a C-CANCEL always
        // comes after its C-FIND's final response: nothing is left to cancel (PS3.7 9.3.2.3).
        message_.reset();
        co_return;
    }
    if (field == CommandField::n_event_report_rsp) {
        on_commitment_report_answer(cmd);  // a response: nothing to answer
        message_.reset();
        co_return;
    }
    if (cmd.has_data_set()) {
        m.refusal = "operation not supported";  // drain its dataset, then answer 0x0211
        co_return;
    }
    const uint8_t context_id = m.context_id;
    Command rsp = field == CommandField::c_echo_rq
                      ? make_response(cmd, status::success)
                      : make_response(cmd, status::unrecognized_operation,
                                      "only C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET and N-ACTION");
    message_.reset();
    co_await send_command(context_id, rsp);
}

// Opens the spool file and writes the Part-10 header: SOP class and instance from the command,
// the transfer syntax negotiated for this presentation context.
void Association::start_dataset(Message& m) {
    try {
        m.spool.emplace(ctx_.spool);
        const auto header = codecs::dicom::encode_part10_header(
            {m.command->affected_sop_class_uid, m.command->affected_sop_instance_uid,
             contexts_.at(m.context_id).transfer_syntax});
        m.spool->append(header);
    } catch (const std::system_error& e) {
        m.spool.reset();
        m.refusal = e.code() == std::errc::no_space_on_device ? "gateway disk full, retry later"
                                                              : "cannot spool object, retry later";
        ctx_.log.error("spool failed: ", e.what());
    }
}

void Association::append_dataset(Message& m, std::span<const std::byte> data) {
    m.dataset_bytes += data.size();
    if (m.memory_limit) {
        if (!m.refusal.empty()) return;  // draining
        if (m.dataset_bytes > m.memory_limit) {
            m.refusal =
                m.memory_limit >= (1u << 20)
                    ? "request larger than " + std::to_string(m.memory_limit >> 20) +
                          " MiB: ask for fewer instances at a time"
                    : "identifier larger than " + std::to_string(m.memory_limit >> 10) + " KiB";
        } else if (Clock::now() - m.command_done > kCommitmentRequestTime) {
            m.refusal = "request took longer than " +
                        std::to_string(kCommitmentRequestTime.count()) + " s to arrive";
        } else if (!m.held.take(ctx_.commitment_request_bytes, data.size(),
                                kMaxCommitmentRequestsHeld)) {
            m.refusal = "too many requests at once, retry later";
        } else {
            m.dataset.insert(m.dataset.end(), data.begin(), data.end());
            return;
        }
        m.dataset = {};  // drained from here on; its share goes back to the others at once
        m.held.release();
        return;
    }
    if (!m.spool) return;  // refused already: drain
    if (m.dataset_bytes > ctx_.config.dicom.max_object_bytes) {
        m.spool.reset();
        const uint64_t limit = ctx_.config.dicom.max_object_bytes;
        m.refusal = "object larger than the gateway's limit of " +
                    (limit >= (1u << 20) ? std::to_string(limit >> 20) + " MiB"
                                         : std::to_string(limit) + " bytes");
        return;
    }
    try {
        m.spool->append(data);
    } catch (const std::system_error& e) {
        m.spool.reset();  // frees the space it took
        const bool full = e.code() == std::errc::no_space_on_device;
        m.refusal = full ? "gateway disk full, retry later" : "cannot spool object, retry later";
        if (full) ctx_.health.storage_failed("data directory full");
        ctx_.log.error("spool failed: ", e.what());
    }
}

awaitable<void> Association::on_dataset_complete(Message& m) {
    if (m.memory_limit) {
        const auto field = static_cast<CommandField>(m.command->command_field);
        if (field == CommandField::c_find_rq) {
            co_await on_find_request(m);
        } else if (field == CommandField::c_move_rq) {
            co_await on_move_request(m);
        } else if (field == CommandField::c_get_rq) {
            co_await on_get_request(m);
        } else {
            co_await on_commitment_request(m);
        }
        co_return;
    }
    ctx_.metrics.stage_latency.with({"receive"})
        .observe(std::chrono::duration<double>(Clock::now() - m.command_done).count());
    const Command cmd = *m.command;
    const uint8_t context_id = m.context_id;
    Command rsp;
    if (!m.refusal.empty() || !m.spool) {
        const bool unsupported =
            static_cast<CommandField>(cmd.command_field) != CommandField::c_store_rq;
        const uint16_t code =
            unsupported ? status::unrecognized_operation : status::out_of_resources;
        rsp = make_response(cmd, code, error_comment(m.refusal));
        ctx_.log.warn("object from ", calling_ae_, " refused: ", m.refusal);
        ctx_.metrics.objects_total.with({"refused", township_, "none"}).inc();
        audit::Event e = audit_event(audit::EventType::store);
        e.outcome = audit::Outcome::serious_failure;
        e.description = m.refusal;
        e.sop_instance_uids.push_back(cmd.affected_sop_instance_uid);
        ctx_.audit.record(e);
    } else {
        m.spool->close();
        ingest::SpoolFile spool = std::move(*m.spool);
        ingest::IngestRequest request{spool.path(),
                                      calling_ae_,
                                      township_,
                                      {cmd.affected_sop_class_uid, cmd.affected_sop_instance_uid},
                                      server::unix_now_ms(),
                                      {},
                                      {}};
        auto& pipeline = ctx_.pipeline;
        const ingest::IngestOutcome outcome = co_await server::run_on(
            ctx_.workers, [&pipeline, &request] { return pipeline.ingest(request); });
        rsp = make_response(cmd, outcome.status, error_comment(outcome.comment));
        ++objects_;
        audit::Event e = audit_event(audit::EventType::store);
        const bool refused = outcome.result == ingest::IngestOutcome::Result::refused;
        e.outcome = refused               ? audit::Outcome::serious_failure
                    : outcome.status != 0 ? audit::Outcome::minor_failure
                                          : audit::Outcome::success;
        e.description = outcome.comment;
        e.study_instance_uid = outcome.study_instance_uid;
        e.sop_instance_uids.push_back(cmd.affected_sop_instance_uid);
        ctx_.audit.record(e);
    }
    message_.reset();
    co_await send_command(context_id, rsp);
}

// Storage Commitment (PS3.4 J.3): the N-ACTION-RSP says the request was understood; the
// report (N-EVENT-REPORT) says which instances we hold. It goes on this association unless the
// equipment is configured to take it on one of its own (storage_commitment.peers).
awaitable<void> Association::on_commitment_request(Message& m) {
    namespace cd = codecs::dicom;
    const Command cmd = *m.command;
    const uint8_t context_id = m.context_id;
    const std::string syntax = contexts_.at(context_id).transfer_syntax;
    const std::vector<std::byte> dataset = std::move(m.dataset);
    // The request's bytes stay counted until its report is delivered (below: into the delivery
    // for a peer of its own), so reports waiting for a switched-off console are bounded too.
    auto held = std::make_shared<BudgetShare>(std::move(m.held));
    const std::string refusal = m.refusal;
    message_.reset();
    const std::string township =
        township_.empty() ? std::string(config::unregistered_township) : township_;

    std::string problem;
    uint16_t code = status::success;
    if (!refusal.empty()) {
        code = status::resource_limitation;
        problem = refusal;
    } else if (cmd.requested_sop_instance_uid != cd::kStorageCommitmentSopInstance) {
        code = status::no_such_sop_instance;
        problem =
            "Requested SOP Instance must be " + std::string(cd::kStorageCommitmentSopInstance);
    } else if (cmd.action_type_id.value_or(0) != 1) {
        code = status::no_such_action_type;
        problem = "Action Type ID must be 1 (request storage commitment)";
    }
    // Parsed, decided and (when it goes out here) encoded on a worker: a report can be MBs.
    const config::CommitmentPeer* peer = ctx_.config.commitment_peer(calling_ae_);
    cd::CommitmentReport report;
    std::vector<std::byte> report_bytes;
    if (problem.empty()) {
        auto& index = ctx_.index;
        problem = co_await server::run_on(ctx_.workers, [&] {
            auto request = cd::parse_commitment_request(dataset, syntax);
            if (!request.error.empty()) return request.error;
            report = store::decide_commitment(request, township, index);
            if (!peer) report_bytes = cd::encode_commitment_report(report, syntax);
            return std::string();
        });
        if (!problem.empty()) code = status::processing_failure;
    }
    audit::Event e = audit_event(audit::EventType::query);
    if (!problem.empty()) {
        ctx_.log.warn("storage commitment request from AE '", calling_ae_, "' refused: ", problem);
        e.outcome = audit::Outcome::minor_failure;
        e.description = "storage commitment refused: " + problem;
        ctx_.audit.record(e);
        co_await send_command(context_id, make_response(cmd, code, error_comment(problem)));
        co_return;
    }
    co_await send_command(context_id, make_response(cmd, status::success));

    ctx_.metrics.commitment_instances_total.with({township, "committed"})
        .inc(static_cast<double>(report.committed.size()));
    ctx_.metrics.commitment_instances_total.with({township, "failed"})
        .inc(static_cast<double>(report.failed.size()));
    e.outcome = report.failed.empty() ? audit::Outcome::success : audit::Outcome::minor_failure;
    e.description = "storage commitment " + report.transaction_uid + ": " +
                    std::to_string(report.committed.size()) + " committed, " +
                    std::to_string(report.failed.size()) + " not held";
    ctx_.audit.record(e);

    if (peer) {
        ctx_.log.info(e.description, " for AE '", calling_ae_, "': reporting to ", peer->host, ":",
                      peer->port);
        // Fields set one by one: GCC 12 and brace-initialised strings in coroutines (store_scu).
        ScuPeer to;
        to.host = peer->host;
        to.port = peer->port;
        to.called_ae = calling_ae_;
        to.calling_ae = ctx_.config.dicom.ae_title;
        auto& context = ctx_;
        const std::string ae = calling_ae_, transaction = report.transaction_uid;
        asio::co_spawn(stream_.get_executor(),
                       deliver_commitment_report(
                           stream_.get_executor(), ctx_.workers, std::move(to), std::move(report),
                           kReportAttempts, kReportFirstRetry,
                           [&context, ae, transaction, held](const std::string& error) {
                               const bool ok = error.empty();
                               context.metrics.commitment_reports_total
                                   .with({ok ? "own_association" : "undelivered"})
                                   .inc();
                               if (ok) {
                                   context.log.info("storage commitment report ", transaction,
                                                    " delivered to AE '", ae, "'");
                               } else {
                                   context.log.warn("storage commitment report ", transaction,
                                                    " to AE '", ae, "' not delivered after ",
                                                    kReportAttempts, " tries: ", error,
                                                    "; check storage_commitment.peers");
                               }
                           }),
                       asio::detached);
        co_return;
    }
    ctx_.log.info(e.description, " for AE '", calling_ae_, "': reporting on its association");
    const uint16_t message_id = ++next_message_id_;
    pending_reports_[message_id] = report.transaction_uid;
    co_await send_command(context_id, commitment_report_command(message_id, report));
    auto pdus = encode_p_data_fragments(context_id, false, report_bytes, peer_max_pdu_);
    for (auto& pdu : pdus) co_await send(std::move(pdu));
}

// C-FIND (PS3.4 C.4.1): the identifier is read, matched against the index and every match
// encoded on a worker; then one pending response per match, then the final one. A viewer finds
// the studies its principal may read; equipment finds its own township's instances.
awaitable<void> Association::on_find_request(Message& m) {
    namespace cd = codecs::dicom;
    const Command cmd = *m.command;
    const uint8_t context_id = m.context_id;
    const AcceptedContext context = contexts_.at(context_id);
    const std::vector<std::byte> bytes = std::move(m.dataset);
    const BudgetShare held = std::move(m.held);  // given back when the answer is sent
    const std::string refusal = m.refusal;
    message_.reset();

    query::FindAnswer answer;
    std::vector<std::vector<std::byte>> encoded;
    if (!refusal.empty()) {
        answer.status = status::out_of_resources;
        answer.reason = refusal;
    } else {
        auto& index = ctx_.index;
        auto& queues = ctx_.queues;
        const std::optional<auth::Principal> viewer = viewer_;
        const std::string township = township_;
        const std::string error = co_await server::run_on(ctx_.workers, [&] {
            const cd::QueryIdentifier identifier =
                cd::parse_query_identifier(bytes, context.transfer_syntax);
            if (!identifier.error.empty()) return identifier.error;
            const query::Visible visible =
                viewer ? query::visible_to(*viewer, queues)
                       : query::Visible([&township](const store::InstanceRecord& r) {
                             return r.township == township;
                         });
            answer = query::find(context.abstract_syntax, identifier, index, visible);
            for (auto& match : answer.matches) {
                encoded.push_back(
                    cd::encode_query_response(std::move(match), context.transfer_syntax));
            }
            return std::string();
        });
        if (!error.empty()) {
            answer.status = status::cannot_understand;
            answer.reason = "identifier: " + error;
        }
    }
    const std::string level = answer.level.empty() ? "none" : answer.level;
    audit::Event e = audit_event(audit::EventType::query);
    if (viewer_) {
        e.user = viewer_->name + " (AE " + calling_ae_ + ")";
        e.role = config::role_name(viewer_->role);
    }
    e.outcome =
        answer.status == status::success ? audit::Outcome::success : audit::Outcome::minor_failure;
    e.description = "C-FIND " + level + ": " +
                    (answer.status == status::success ? std::to_string(encoded.size()) + " matches"
                                                      : "refused: " + answer.reason);
    ctx_.audit.record(e);
    ctx_.metrics.find_requests_total
        .with({level, answer.status == status::success ? "success" : "refused"})
        .inc();
    if (answer.status != status::success) {
        ctx_.log.warn("C-FIND from AE '", calling_ae_, "' refused: ", answer.reason);
    }

    const uint16_t pending =
        answer.unsupported_keys ? status::pending_unsupported_keys : status::pending;
    for (auto& identifier : encoded) {
        Command rsp = make_response(cmd, pending);
        rsp.data_set_type = kDataSetPresent;
        co_await send_command(context_id, rsp);
        auto pdus = encode_p_data_fragments(context_id, false, identifier, peer_max_pdu_);
        for (auto& pdu : pdus) co_await send(std::move(pdu));
    }
    co_await send_command(context_id,
                          make_response(cmd, answer.status, error_comment(answer.reason)));
}

// How the sub-operations of a C-MOVE or C-GET went, for its responses.
struct Association::SubOperations {
    uint16_t total = 0, completed = 0, warnings = 0, failed = 0;
    std::string failed_uids;  // Failed SOP Instance UID List (0008,0058), backslash-separated

    // Counts one sub-operation by its C-STORE status (nullopt: not sent).
    void add(const std::string& sop_instance_uid, std::optional<uint16_t> status) {
        if (status == status::success) {
            ++completed;
        } else if (status && (*status & 0xF000) == 0xB000) {
            ++warnings;
        } else {
            ++failed;
            if (!failed_uids.empty()) failed_uids += '\\';
            failed_uids += sop_instance_uid;
        }
    }
    uint16_t done() const { return static_cast<uint16_t>(completed + warnings + failed); }
    uint16_t sent() const { return static_cast<uint16_t>(completed + warnings); }
    // A C-MOVE/C-GET response with these counts.
    Command response(const Command& request, uint16_t code, uint16_t remaining) const {
        Command rsp = make_response(request, code);
        rsp.remaining_suboperations = remaining;
        rsp.completed_suboperations = completed;
        rsp.failed_suboperations = failed;
        rsp.warning_suboperations = warnings;
        return rsp;
    }
};

// C-MOVE and C-GET alike: the identifier read and the instances it names selected on a worker,
// limited to what the viewer's principal may read. A refusal comes back as the status.
awaitable<query::Selection> Association::select_for_retrieval(const AcceptedContext& context,
                                                              std::vector<std::byte> bytes,
                                                              const std::string& refusal) {
    query::Selection selection;
    if (!viewer_) {  // negotiation lets only viewers here; a bug must not dereference nothing
        selection.status = status::unrecognized_operation;
        selection.reason = "retrieval is for viewers";
        co_return selection;
    }
    if (!refusal.empty()) {
        selection.status = status::out_of_resources;
        selection.reason = refusal;
        co_return selection;
    }
    auto& index = ctx_.index;
    const query::Visible visible = query::visible_to(*viewer_, ctx_.queues);
    const std::string error = co_await server::run_on(ctx_.workers, [&] {
        const auto identifier =
            codecs::dicom::parse_query_identifier(bytes, context.transfer_syntax);
        if (!identifier.error.empty()) return identifier.error;
        selection = query::select_instances(context.abstract_syntax, identifier, index, visible);
        return std::string();
    });
    if (!error.empty()) {
        selection.status = status::cannot_understand;
        selection.reason = "identifier: " + error;
    }
    co_return selection;
}

// The final C-MOVE/C-GET response, with the Failed SOP Instance UID List when some failed.
awaitable<void> Association::send_retrieval_final(uint8_t context_id, const Command& rsp,
                                                  const SubOperations& subs) {
    Command final_rsp = rsp;
    std::vector<std::byte> failed_list;
    if (subs.failed > 0) {
        failed_list = codecs::dicom::encode_query_response(
            {{0x00080058, subs.failed_uids}}, contexts_.at(context_id).transfer_syntax);
        final_rsp.data_set_type = kDataSetPresent;
    }
    co_await send_command(context_id, final_rsp);
    if (!failed_list.empty()) {
        auto pdus = encode_p_data_fragments(context_id, false, failed_list, peer_max_pdu_);
        for (auto& pdu : pdus) co_await send(std::move(pdu));
    }
}

// The audit event of a retrieval by this viewer; refused ones are recorded and logged here.
audit::Event Association::retrieval_event(const std::string& what,
                                          const query::Selection& selection) {
    audit::Event e = audit_event(audit::EventType::retrieve);
    if (viewer_) {
        e.user = viewer_->name + " (AE " + calling_ae_ + ")";
        e.role = config::role_name(viewer_->role);
    }
    e.destination = what;
    if (selection.status != status::success) {
        ctx_.log.warn(what, " from AE '", calling_ae_, "' refused: ", selection.reason);
        e.outcome = audit::Outcome::minor_failure;
        e.description = what + " refused: " + selection.reason;
        ctx_.audit.record(e);
    }
    for (const auto& r : selection.instances) {
        if (e.study_instance_uid.empty()) e.study_instance_uid = r.study_instance_uid;
        e.sop_instance_uids.push_back(r.sop_instance_uid);
    }
    return e;
}

// C-MOVE (PS3.4 C.4.2): the identifier names instances by their unique keys; they go to the
// configured destination on an association of ours (C-STORE sub-operations, each in the
// transfer syntax it was stored in). One pending response says how many, the final one how it
// went. Only viewers get here (negotiation), and they move what their principal may read.
awaitable<void> Association::on_move_request(Message& m) {
    const Command cmd = *m.command;
    const uint8_t context_id = m.context_id;
    const AcceptedContext context = contexts_.at(context_id);
    const BudgetShare held = std::move(m.held);
    const std::string refusal = m.refusal;
    std::vector<std::byte> bytes = std::move(m.dataset);
    message_.reset();

    const config::RemoteAe* destination = ctx_.config.move_destination(cmd.move_destination);
    query::Selection selection;
    if (!destination && viewer_) {
        selection.status = status::move_destination_unknown;
        selection.reason = "move destination '" + cmd.move_destination +
                           "' is not configured: add it under [[dicom.move_destinations]]";
    } else {
        selection = co_await select_for_retrieval(context, std::move(bytes), refusal);
    }
    audit::Event e = retrieval_event("C-MOVE to " + cmd.move_destination, selection);
    if (selection.status != status::success) {
        co_await send_command(
            context_id, make_response(cmd, selection.status, error_comment(selection.reason)));
        co_return;
    }

    SubOperations subs;
    subs.total = static_cast<uint16_t>(selection.instances.size());  // <= 20,000
    if (subs.total > 0) {
        co_await send_command(context_id, subs.response(cmd, status::pending, subs.total));
    }
    std::vector<OutgoingObject> objects;
    auto& blobs = ctx_.blobs;
    for (const auto& r : selection.instances) {
        OutgoingObject o;
        o.sop_class_uid = r.sop_class_uid;
        o.sop_instance_uid = r.sop_instance_uid;
        o.transfer_syntax_uid = r.transfer_syntax_uid;
        const std::string sha = r.sha256;
        o.read_dataset = store::stored_dataset_reader(blobs, sha);  // opened when its turn comes
        // A destination that takes no compressed syntax (a viewer's plain storage SCP) gets a
        // decompressed copy, as C-GET does.
        auto& spool = ctx_.spool;
        o.convert = [&spool, &blobs, r](const std::string& to) {
            auto file = std::make_shared<ingest::SpoolFile>(converted_copy(spool, blobs, r, to));
            auto read = io::file_reader(file->path());
            return [file, read](std::span<std::byte> out) { return read(out); };
        };
        o.move_originator_ae = calling_ae_;
        o.move_originator_message_id = cmd.message_id;
        objects.push_back(std::move(o));
    }
    std::vector<SendResult> results;
    std::string broken;
    if (!objects.empty()) {
        ScuPeer to;
        to.host = destination->host;
        to.port = destination->port;
        to.called_ae = destination->ae_title;
        to.calling_ae = ctx_.config.dicom.ae_title;
        // Each outcome counted as it comes, and told to the viewer in a pending response: a
        // long move shows progress, and a viewer's response timeout does not run out.
        std::size_t told = 0;
        const auto progress = [&](std::size_t i, const SendResult& r) {
            subs.add(objects[i].sop_instance_uid,
                     r.sent ? std::optional<uint16_t>(r.status) : std::nullopt);
            told = i + 1;
            return send_move_progress(context_id, cmd, subs);
        };
        try {
            results =
                co_await send_objects(stream_.get_executor(), ctx_.workers, to, objects, progress);
        } catch (const std::exception& failed) {
            // The destination's association, or anything else that stops the move (the
            // viewer's own association failing under a pending response): counted and audited
            // below all the same.
            broken = failed.what();
        }
        for (std::size_t i = told; i < objects.size(); ++i) {
            subs.add(objects[i].sop_instance_uid, std::nullopt);  // not delivered
        }
    }
    ctx_.metrics.move_instances_total.with({cmd.move_destination, "sent"}).inc(subs.sent());
    ctx_.metrics.move_instances_total.with({cmd.move_destination, "failed"}).inc(subs.failed);
    std::string outcome = std::to_string(subs.sent()) + " of " + std::to_string(subs.total) +
                          " sent to " + cmd.move_destination;
    if (!broken.empty()) outcome += "; association failed: " + broken;
    ctx_.log.info("C-MOVE from AE '", calling_ae_, "': ", outcome);
    e.outcome = subs.failed == 0 ? audit::Outcome::success : audit::Outcome::minor_failure;
    e.description = "C-MOVE: " + outcome;
    ctx_.audit.record(e);

    const bool nothing = subs.total > 0 && subs.sent() == 0 && !broken.empty();
    Command done = subs.response(cmd,
                                 subs.failed + subs.warnings == 0 ? status::success
                                 : nothing ? status::out_of_resources_suboperations
                                           : status::suboperations_failed,
                                 0);
    done.error_comment = error_comment(broken);
    co_await send_retrieval_final(context_id, done, subs);
}

// A pending C-MOVE response with the counts so far, unless the final one is next.
awaitable<void> Association::send_move_progress(uint8_t context_id, const Command& request,
                                                const SubOperations& subs) {
    if (subs.done() >= subs.total) co_return;
    co_await send_command(context_id,
                          subs.response(request, status::pending, subs.total - subs.done()));
}

// C-GET (PS3.4 C.4.3): as C-MOVE, but the instances go back on this association, as C-STORE
// sub-operations on the storage contexts where the viewer took the SCP role, each in the
// transfer syntax it was stored in (no context for it: that sub-operation fails). A pending
// response follows each sub-operation; a C-CANCEL stops after the one in flight.
awaitable<void> Association::on_get_request(Message& m) {
    const Command cmd = *m.command;
    const uint8_t context_id = m.context_id;
    const AcceptedContext context = contexts_.at(context_id);
    const BudgetShare held = std::move(m.held);
    const std::string refusal = m.refusal;
    std::vector<std::byte> bytes = std::move(m.dataset);
    message_.reset();

    const query::Selection selection =
        co_await select_for_retrieval(context, std::move(bytes), refusal);
    audit::Event e = retrieval_event("C-GET", selection);
    if (selection.status != status::success) {
        co_await send_command(
            context_id, make_response(cmd, selection.status, error_comment(selection.reason)));
        co_return;
    }

    SubOperations subs;
    subs.total = static_cast<uint16_t>(selection.instances.size());  // <= 20,000
    bool cancelled = false;
    for (const auto& r : selection.instances) {
        if (cancelled) break;
        subs.add(r.sop_instance_uid, co_await send_get_sub_operation(r, cancelled));
        if (subs.done() < subs.total && !cancelled) {
            co_await send_command(context_id,
                                  subs.response(cmd, status::pending, subs.total - subs.done()));
        }
    }
    ctx_.metrics.move_instances_total.with({calling_ae_, "sent"}).inc(subs.sent());
    ctx_.metrics.move_instances_total.with({calling_ae_, "failed"}).inc(subs.failed);
    const std::string outcome = std::to_string(subs.sent()) + " of " + std::to_string(subs.total) +
                                " sent" + (cancelled ? ", cancelled" : "");
    ctx_.log.info("C-GET from AE '", calling_ae_, "': ", outcome);
    e.outcome = subs.failed == 0 ? audit::Outcome::success : audit::Outcome::minor_failure;
    e.description = "C-GET: " + outcome;
    ctx_.audit.record(e);
    const uint16_t code = cancelled                          ? status::cancelled
                          : subs.failed + subs.warnings == 0 ? status::success
                                                             : status::suboperations_failed;
    co_await send_retrieval_final(
        context_id,
        subs.response(cmd, code, cancelled ? static_cast<uint16_t>(subs.total - subs.done()) : 0),
        subs);
}

// One C-GET sub-operation: `r` as a C-STORE on a storage context the viewer proposed with the
// SCP role, in the syntax it was stored in or, when the viewer took none for that, transcoded
// to an uncompressed one it took (a township's JPEG for a viewer that reads only the plain
// syntaxes). Returns the viewer's C-STORE status, or nullopt when it could not be sent.
awaitable<std::optional<uint16_t>> Association::send_get_sub_operation(
    const store::InstanceRecord& r, bool& cancelled) {
    namespace cd = codecs::dicom;
    const auto context_in = [&](std::string_view syntax) -> std::optional<uint8_t> {
        for (const auto& [id, c] : contexts_) {
            if (c.requester_is_scp && c.abstract_syntax == r.sop_class_uid &&
                c.transfer_syntax == syntax) {
                return id;
            }
        }
        return std::nullopt;
    };
    std::optional<uint8_t> pc = context_in(r.transfer_syntax_uid);
    std::optional<ingest::SpoolFile> converted;
    if (!pc) {
        std::string to;
        for (const char* syntax : {cd::kExplicitLittleEndian, cd::kImplicitLittleEndian}) {
            if (!pc && cd::can_transcode(r.transfer_syntax_uid, syntax)) {
                pc = context_in(syntax);
                to = syntax;
            }
        }
        std::string why;
        if (!pc) {
            why = "the viewer took no storage context for it in its syntax (" +
                  r.transfer_syntax_uid + ") nor in one we can convert it to";
        } else {
            auto& spool = ctx_.spool;
            auto& blobs = ctx_.blobs;
            why = co_await server::run_on(ctx_.workers, [&] {
                try {
                    converted.emplace(converted_copy(spool, blobs, r, to));
                    return std::string();
                } catch (const std::runtime_error& e) {
                    return std::string(e.what());
                }
            });
        }
        if (!why.empty()) {
            ctx_.log.warn("C-GET from AE '", calling_ae_, "': ", r.sop_instance_uid,
                          " not sent: ", why);
            co_return std::nullopt;
        }
    }
    const Command sub = make_store_request(r.sop_class_uid, r.sop_instance_uid, ++next_message_id_);
    co_await send_command(*pc, sub);
    if (converted) {
        DatasetReader read = io::file_reader(converted->path());  // named: GCC 12 rule
        co_await send_dataset(*pc, std::move(read));
    } else {
        DatasetReader read = store::stored_dataset_reader(ctx_.blobs, r.sha256);
        co_await send_dataset(*pc, std::move(read));
    }
    const Command rsp = co_await await_store_response(*sub.message_id, cancelled);
    co_return rsp.status.value_or(0xFFFF);
}

// A dataset as P-DATA on `context_id`, read in PDV-sized pieces on a worker (`read` opens its
// source at the first call, so file I/O stays off the network thread); the last PDV is flagged
// once the reader reports the end, so one piece is held back.
awaitable<void> Association::send_dataset(uint8_t context_id, DatasetReader read) {
    const std::size_t max_value =
        peer_max_pdu_ == 0 ? (1u << 20) : std::max<std::size_t>(peer_max_pdu_, 1024) - 12;
    std::vector<std::byte> chunk(std::min<std::size_t>(max_value, 1u << 20));
    std::vector<std::byte> next(chunk.size());
    std::size_t held = co_await server::run_on(ctx_.workers, [&] { return read(chunk); });
    for (;;) {
        const std::size_t n =
            held == 0 ? 0 : co_await server::run_on(ctx_.workers, [&] { return read(next); });
        const bool last = n == 0;
        co_await send(
            encode_p_data(context_id, false, last, std::span<const std::byte>(chunk.data(), held)));
        if (last) co_return;
        std::swap(chunk, next);
        held = n;
    }
}

// Reads PDUs until the C-STORE-RSP to `message_id` has come. A C-CANCEL meanwhile sets
// `cancelled`; anything else but P-DATA with commands ends the association.
awaitable<Command> Association::await_store_response(uint16_t message_id, bool& cancelled) {
    std::vector<std::byte> command;
    std::vector<std::byte> pdu;
    for (;;) {
        const auto header =
            co_await read_pdu(std::chrono::seconds(ctx_.config.dicom.idle_timeout_s), pdu);
        if (header.type == PduType::abort) {
            throw AbortAssociation{AbortReason::not_specified, "peer aborted during a C-GET"};
        }
        if (header.type != PduType::p_data) {
            throw AbortAssociation{AbortReason::unexpected_pdu,
                                   "expected the C-STORE-RSP of a C-GET sub-operation"};
        }
        const auto pdvs = decode_p_data(pdu);
        for (const Pdv& pdv : pdvs) {
            if (!pdv.is_command || command.size() + pdv.data.size() > kMaxCommandSet) {
                throw AbortAssociation{AbortReason::unexpected_pdu_parameter,
                                       "expected the C-STORE-RSP of a C-GET sub-operation"};
            }
            command.insert(command.end(), pdv.data.begin(), pdv.data.end());
            if (!pdv.is_last) continue;
            Command c = decode_command(command);
            command.clear();
            const auto field = static_cast<CommandField>(c.command_field);
            if (field == CommandField::c_cancel_rq) {
                cancelled = true;
            } else if (field == CommandField::c_store_rsp &&
                       c.message_id_responded_to == message_id) {
                co_return c;
            } else {
                throw AbortAssociation{AbortReason::unexpected_pdu_parameter,
                                       "expected the C-STORE-RSP of a C-GET sub-operation"};
            }
        }
    }
}

void Association::on_commitment_report_answer(const Command& rsp) {
    const auto pending = pending_reports_.find(rsp.message_id_responded_to.value_or(0));
    if (pending == pending_reports_.end()) {
        ctx_.log.warn("AE '", calling_ae_, "' answered a report we did not send");
        return;
    }
    const uint16_t code = rsp.status.value_or(0xFFFF);
    ctx_.metrics.commitment_reports_total.with({code == 0 ? "same_association" : "refused"}).inc();
    if (code != 0) {
        ctx_.log.warn("AE '", calling_ae_, "' answered storage commitment report ", pending->second,
                      " with status ", code);
    }
    pending_reports_.erase(pending);
}

awaitable<void> Association::send_command(uint8_t context_id, const Command& command) {
    // A named local, not a temporary in the range-for: GCC 12 coroutine rules.
    auto pdus = encode_p_data_fragments(context_id, true, encode_command(command), peer_max_pdu_);
    for (auto& pdu : pdus) co_await send(std::move(pdu));
}

awaitable<void> Association::send(std::vector<std::byte> pdu) {
    set_deadline(Clock::now() + std::chrono::seconds(ctx_.config.dicom.idle_timeout_s));
    co_await asio::async_write(stream_, asio::buffer(pdu), use_awaitable);
    deadline_ = Clock::time_point::max();
}

// Best effort: the peer may not be reading, so the A-ABORT is written without waiting.
void Association::abort_now(AbortReason reason, const std::string& why) {
    if (finished_) return;
    const auto pdu = encode(Abort{2, static_cast<uint8_t>(reason)});
    error_code ec;
    socket().non_blocking(true, ec);
    asio::write(stream_, asio::buffer(pdu), ec);
    ctx_.log.warn("association from ", peer_, " AE '", calling_ae_, "' aborted: ", why);
    ctx_.metrics.refusals_total.with({timed_out_ ? "timeout" : "protocol_error"}).inc();
    finish("aborted");
}

void Association::finish(const std::string& outcome) {
    if (finished_) return;
    finished_ = true;
    record_end(outcome);
    error_code ec;
    socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket().close(ec);
    timer_.cancel();
}

void Association::record_end(const std::string& outcome) {
    if (recorded_) return;
    recorded_ = true;
    for (const auto& [id, transaction] : pending_reports_) {
        ctx_.metrics.commitment_reports_total.with({"unacknowledged"}).inc();
        ctx_.log.warn("AE '", calling_ae_, "' ended the association before answering storage ",
                      "commitment report ", transaction,
                      "; if it takes reports on an association of its own, list it under ",
                      "[[storage_commitment.peers]]");
    }
    ctx_.metrics.associations_total.with({outcome}).inc();
    // One line per association: rejections and aborts were logged as warnings already.
    if (outcome != "aborted" && outcome != "rejected" && outcome != "tls_refused") {
        const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        const std::string who = viewer_ ? "viewer of " + viewer_->name : township_;
        ctx_.log.info("association from ", peer_, " AE '", calling_ae_, "' (", who, ") ",
                      outcome == "released" ? "released" : "ended: " + outcome, " after ", objects_,
                      " objects in ", seconds, " s");
    }
}

awaitable<void> accept_associations(asio::ip::tcp::acceptor& acceptor, server::Context& context,
                                    std::function<std::shared_ptr<asio::ssl::context>()> tls) {
    for (;;) {
        error_code ec;
        auto socket = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()),
                                                     asio::redirect_error(use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            context.log.warn("accept failed: ", ec.message());
            continue;
        }
        std::make_shared<Association>(std::move(socket), context, tls ? tls() : nullptr)->start();
    }
}

}  // namespace countylink::dicom
