#include "gateway/dicom/store_scu.hpp"

#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "codecs/dicom/transcode.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/pdu.hpp"
#include "gateway/server/run_on.hpp"

namespace countylink::dicom {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using codecs::dicom::kExplicitLittleEndian;
using codecs::dicom::kImplicitLittleEndian;

namespace {

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
                                                std::vector<OutgoingObject>& objects,
                                                SendProgress progress) {
    std::vector<SendResult> results(objects.size());
    if (objects.empty()) co_return results;

    // One presentation context per (SOP class, transfer syntax), offering the stored syntax:
    // the object goes out exactly as it came in. Objects stored compressed that can be
    // converted are also offered, one context per SOP class, in the plain syntaxes, for a
    // destination that takes no compressed one (a viewer's storage SCP).
    AssociateRq rq = association_request(peer);
    std::map<std::pair<std::string, std::string>, uint8_t> context_of;
    std::map<std::string, uint8_t> plain_context_of;  // SOP class -> its plain-syntax context
    const auto next_id = [&] {
        const std::size_t n = context_of.size() + plain_context_of.size();
        if (n >= 128) throw std::invalid_argument("more than 128 contexts");
        return static_cast<uint8_t>(1 + 2 * n);
    };
    for (const auto& o : objects) {
        const auto key = std::make_pair(o.sop_class_uid, o.transfer_syntax_uid);
        if (!context_of.contains(key)) {
            const uint8_t id = next_id();
            context_of[key] = id;
            rq.contexts.push_back({id, o.sop_class_uid, {o.transfer_syntax_uid}});
        }
        const bool plain = o.transfer_syntax_uid == kExplicitLittleEndian ||
                           o.transfer_syntax_uid == kImplicitLittleEndian;
        const std::size_t used = context_of.size() + plain_context_of.size();
        if (o.convert && !plain && !plain_context_of.contains(o.sop_class_uid) && used < 128) {
            const uint8_t id = next_id();
            plain_context_of[o.sop_class_uid] = id;
            rq.contexts.push_back(
                {id, o.sop_class_uid, {kExplicitLittleEndian, kImplicitLittleEndian}});
        }
    }

    ScuLink link(executor, peer.timeout);
    co_await link.connect(peer.host, peer.port);
    const AssociateAc ac = co_await link.associate(rq);
    std::map<uint8_t, std::string> accepted;  // context id -> the transfer syntax it took
    for (const auto& pc : ac.contexts) {
        if (pc.result == ContextResult::acceptance) accepted[pc.id] = pc.transfer_syntax;
    }
    // PDV value size: the peer's max PDU length minus the 6-byte PDV header (and a margin
    // for peers that count differently).
    const std::size_t max_value = ac.user.max_pdu_length == 0
                                      ? (1u << 20)
                                      : std::max<std::size_t>(ac.user.max_pdu_length, 1024) - 12;

    uint16_t message_id = 0;
    std::vector<std::byte> chunk(std::min<std::size_t>(max_value, 1u << 20));
    for (std::size_t i = 0; i < objects.size(); ++i) {
        auto& o = objects[i];
        uint8_t pc = context_of.at({o.sop_class_uid, o.transfer_syntax_uid});
        std::function<std::size_t(std::span<std::byte>)> read = o.read_dataset;
        std::string refusal;
        if (!accepted.contains(pc)) {
            refusal =
                "destination does not accept " + o.sop_class_uid + " in " + o.transfer_syntax_uid;
            const auto plain = plain_context_of.find(o.sop_class_uid);
            if (o.convert && plain != plain_context_of.end() && accepted.contains(plain->second)) {
                const std::string& to = accepted.at(plain->second);
                try {
                    read = co_await server::run_on(workers, [&] { return o.convert(to); });
                    pc = plain->second;
                    refusal.clear();
                } catch (const std::runtime_error& e) {
                    refusal += ", and converting it to " + to + " failed: " + e.what();
                }
            }
        }
        if (!refusal.empty()) {
            // Fields set one by one: GCC 12 miscompiles brace-initialised temporaries with
            // string members in coroutines (UBSan caught a null string being moved).
            SendResult refused;
            refused.error = refusal;
            refused.permanent = true;
            results[i] = std::move(refused);
            if (o.on_result) {
                co_await server::run_on(workers, [&] {
                    o.on_result(results[i]);
                    return 0;
                });
            }
            if (progress) co_await progress(i, results[i]);
            continue;
        }
        if (o.not_before > std::chrono::steady_clock::now()) {
            asio::steady_timer due(executor, o.not_before);
            co_await due.async_wait(use_awaitable);
        }
        const auto started = o.not_before == std::chrono::steady_clock::time_point{}
                                 ? std::chrono::steady_clock::now()
                                 : o.not_before;
        Command cmd = make_store_request(o.sop_class_uid, o.sop_instance_uid, ++message_id);
        cmd.move_originator_ae = o.move_originator_ae;
        cmd.move_originator_message_id = o.move_originator_message_id;
        co_await link.write(encode_p_data(pc, true, true, encode_command(cmd)));
        // Dataset in chunks; the last PDV is flagged once the reader reports the end, so one
        // chunk is held back to know which one is last.
        std::size_t held = co_await server::run_on(workers, [&] { return read(chunk); });
        std::vector<std::byte> next(chunk.size());
        for (;;) {
            const std::size_t n =
                held == 0 ? 0 : co_await server::run_on(workers, [&] { return read(next); });
            const bool last = n == 0;
            co_await link.write(
                encode_p_data(pc, false, last, std::span<const std::byte>(chunk.data(), held)));
            if (last) break;
            std::swap(chunk, next);
            held = n;
        }
        const Command rsp = co_await link.read_command();  // the C-STORE-RSP
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
        if (progress) co_await progress(i, results[i]);
    }
    co_await link.release();
    co_return results;
}

}  // namespace countylink::dicom
