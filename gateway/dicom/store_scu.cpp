#include "gateway/dicom/store_scu.hpp"

#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <map>

#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/sop_classes.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/pdu.hpp"
#include "gateway/server/run_on.hpp"

namespace countylink::dicom {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr uint32_t kOurMaxPdu = 262144;

// Socket operations complete with their error code instead of throwing: `op || timer` waits
// for the first operation to *succeed*, so a throwing op (connection reset, refused) would
// only end at the timeout.
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

void fail_on(const boost::system::error_code& ec, const std::string& what) {
    if (ec) throw AssociationFailed(what + " failed: " + ec.message());
}

// A socket whose every operation is bounded by the peer timeout.
class Link {
  public:
    Link(asio::any_io_executor ex, std::chrono::seconds timeout)
        : socket_(ex), timer_(ex), timeout_(timeout) {}

    awaitable<void> connect(const std::string& host, uint16_t port) {
        asio::ip::tcp::resolver resolver(socket_.get_executor());
        const auto endpoints =
            co_await resolver.async_resolve(host, std::to_string(port), use_awaitable);
        timer_.expires_after(timeout_);
        auto r = co_await (asio::async_connect(socket_, endpoints, kNoThrow) ||
                           timer_.async_wait(use_awaitable));
        if (r.index() == 1) throw AssociationFailed("connect to " + host + " timed out");
        fail_on(std::get<0>(std::get<0>(r)), "connect to " + host);
        socket_.set_option(asio::ip::tcp::no_delay(true));
    }

    awaitable<void> write(const std::vector<std::byte>& bytes) {
        timer_.expires_after(timeout_);
        auto r = co_await (asio::async_write(socket_, asio::buffer(bytes), kNoThrow) ||
                           timer_.async_wait(use_awaitable));
        if (r.index() == 1) throw AssociationFailed("write timed out");
        fail_on(std::get<0>(std::get<0>(r)), "write");
    }

    // Reads one PDU (header + body, body at most 16 MiB).
    awaitable<std::pair<PduHeader, std::vector<std::byte>>> read_pdu() {
        std::array<std::byte, kPduHeaderSize> raw{};
        co_await read_exactly(raw);
        const PduHeader header = decode_header(raw);
        if (header.length > (16u << 20)) throw AssociationFailed("peer sent an oversized PDU");
        std::vector<std::byte> body(header.length);
        co_await read_exactly(body);
        co_return std::make_pair(header, std::move(body));
    }

    void close() {
        boost::system::error_code ec;
        socket_.close(ec);
    }

  private:
    awaitable<void> read_exactly(std::span<std::byte> into) {
        timer_.expires_after(timeout_);
        auto r =
            co_await (asio::async_read(socket_, asio::buffer(into.data(), into.size()), kNoThrow) ||
                      timer_.async_wait(use_awaitable));
        if (r.index() == 1) throw AssociationFailed("no answer from the peer in time");
        fail_on(std::get<0>(std::get<0>(r)), "read");
    }

    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    std::chrono::seconds timeout_;
};

std::string hex16(uint16_t v) {
    char out[8];
    std::snprintf(out, sizeof out, "0x%04X", v);
    return out;
}

// Statuses that a retry will not change: the destination refuses this object as it is.
bool is_permanent(uint16_t status) {
    if ((status & 0xFF00) == 0xA700) return false;  // out of resources: try again later
    return (status & 0xF000) == 0xA000 || (status & 0xF000) == 0xC000 || status == 0x0122;
}

}  // namespace

awaitable<std::vector<SendResult>> send_objects(asio::any_io_executor executor,
                                                asio::thread_pool& workers, const ScuPeer& peer,
                                                std::vector<OutgoingObject>& objects) {
    std::vector<SendResult> results(objects.size());
    if (objects.empty()) co_return results;

    // One presentation context per (SOP class, transfer syntax), offering the stored syntax only:
    // the object goes out exactly as it came in.
    AssociateRq rq;
    rq.called_ae = peer.called_ae;
    rq.calling_ae = peer.calling_ae;
    rq.application_context = std::string(codecs::dicom::kApplicationContext);
    rq.user.max_pdu_length = kOurMaxPdu;
    rq.user.implementation_class_uid = std::string(codecs::dicom::kImplementationClassUid);
    rq.user.implementation_version_name = std::string(codecs::dicom::kImplementationVersionName);
    std::map<std::pair<std::string, std::string>, uint8_t> context_of;
    for (const auto& o : objects) {
        const auto key = std::make_pair(o.sop_class_uid, o.transfer_syntax_uid);
        if (context_of.contains(key)) continue;
        if (context_of.size() >= 128) throw std::invalid_argument("more than 128 contexts");
        const auto id = static_cast<uint8_t>(1 + 2 * context_of.size());
        context_of[key] = id;
        rq.contexts.push_back({id, o.sop_class_uid, {o.transfer_syntax_uid}});
    }

    Link link(executor, peer.timeout);
    try {
        co_await link.connect(peer.host, peer.port);
    } catch (const AssociationFailed&) {
        throw;
    } catch (const std::exception& e) {
        throw AssociationFailed("cannot connect to " + peer.host + ":" + std::to_string(peer.port) +
                                ": " + e.what());
    }
    co_await link.write(encode(rq));
    auto [header, body] = co_await link.read_pdu();
    if (header.type == PduType::associate_rj) {
        const auto rj = decode_associate_rj(body);
        throw AssociationFailed("association rejected (result " + std::to_string(rj.result) +
                                ", source " + std::to_string(rj.source) + ", reason " +
                                std::to_string(rj.reason) + ")");
    }
    if (header.type != PduType::associate_ac) {
        throw AssociationFailed("unexpected answer to A-ASSOCIATE-RQ");
    }
    const AssociateAc ac = decode_associate_ac(body);
    std::map<uint8_t, bool> accepted;
    for (const auto& pc : ac.contexts) accepted[pc.id] = pc.result == ContextResult::acceptance;
    // PDV value size: the peer's max PDU length minus the 6-byte PDV header (and a margin
    // for peers that count differently).
    const std::size_t max_value = ac.user.max_pdu_length == 0
                                      ? (1u << 20)
                                      : std::max<std::size_t>(ac.user.max_pdu_length, 1024) - 12;

    uint16_t message_id = 0;
    std::vector<std::byte> chunk(std::min<std::size_t>(max_value, 1u << 20));
    for (std::size_t i = 0; i < objects.size(); ++i) {
        auto& o = objects[i];
        const uint8_t pc = context_of.at({o.sop_class_uid, o.transfer_syntax_uid});
        if (!accepted[pc]) {
            // Fields set one by one: GCC 12 miscompiles brace-initialised temporaries with
            // string members in coroutines (UBSan caught a null string being moved).
            SendResult refused;
            refused.error =
                "destination does not accept " + o.sop_class_uid + " in " + o.transfer_syntax_uid;
            refused.permanent = true;
            results[i] = std::move(refused);
            if (o.on_result) {
                co_await server::run_on(workers, [&] {
                    o.on_result(results[i]);
                    return 0;
                });
            }
            continue;
        }
        if (o.not_before > std::chrono::steady_clock::now()) {
            asio::steady_timer due(executor, o.not_before);
            co_await due.async_wait(use_awaitable);
        }
        const auto started = o.not_before == std::chrono::steady_clock::time_point{}
                                 ? std::chrono::steady_clock::now()
                                 : o.not_before;
        Command cmd;
        cmd.command_field = static_cast<uint16_t>(CommandField::c_store_rq);
        cmd.affected_sop_class_uid = o.sop_class_uid;
        cmd.affected_sop_instance_uid = o.sop_instance_uid;
        cmd.message_id = ++message_id;
        cmd.priority = 0;
        cmd.data_set_type = 0x0000;
        co_await link.write(encode_p_data(pc, true, true, encode_command(cmd)));
        // Dataset in chunks; the last PDV is flagged once the reader reports the end, so one
        // chunk is held back to know which one is last.
        std::size_t held = co_await server::run_on(workers, [&] { return o.read_dataset(chunk); });
        std::vector<std::byte> next(chunk.size());
        for (;;) {
            const std::size_t n =
                held == 0 ? 0
                          : co_await server::run_on(workers, [&] { return o.read_dataset(next); });
            const bool last = n == 0;
            co_await link.write(
                encode_p_data(pc, false, last, std::span<const std::byte>(chunk.data(), held)));
            if (last) break;
            std::swap(chunk, next);
            held = n;
        }
        // The C-STORE-RSP: a command set, possibly in several PDVs.
        std::vector<std::byte> response;
        for (bool done = false; !done;) {
            auto [h, b] = co_await link.read_pdu();
            if (h.type == PduType::abort) throw AssociationFailed("peer aborted the association");
            if (h.type != PduType::p_data) throw AssociationFailed("unexpected PDU from peer");
            for (const auto& pdv : decode_p_data(b)) {
                response.insert(response.end(), pdv.data.begin(), pdv.data.end());
                done = done || (pdv.is_command && pdv.is_last);
            }
        }
        const Command rsp = decode_command(response);
        const uint16_t status = rsp.status.value_or(0xFFFF);
        const bool ok = status == 0x0000 || (status & 0xF000) == 0xB000;
        SendResult result;  // see above: no brace-initialised temporary here
        result.sent = true;
        result.status = status;
        if (ok) {
            result.error = rsp.error_comment;
        } else {
            result.error = "status " + hex16(status);
            if (!rsp.error_comment.empty()) result.error += ": " + rsp.error_comment;
        }
        result.permanent = !ok && is_permanent(status);
        result.round_trip = std::chrono::steady_clock::now() - started;
        results[i] = std::move(result);
        if (o.on_result) {
            co_await server::run_on(workers, [&] {
                o.on_result(results[i]);
                return 0;
            });
        }
    }
    co_await link.write(encode_release_rq());
    try {
        co_await link.read_pdu();  // A-RELEASE-RP; a peer that just closes is fine too
    } catch (const std::exception&) {
    }
    link.close();
    co_return results;
}

}  // namespace countylink::dicom
