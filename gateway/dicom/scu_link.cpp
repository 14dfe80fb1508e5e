#include "gateway/dicom/scu_link.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/sop_classes.hpp"

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

}  // namespace

AssociateRq association_request(const ScuPeer& peer) {
    AssociateRq rq;
    rq.called_ae = peer.called_ae;
    rq.calling_ae = peer.calling_ae;
    rq.application_context = std::string(codecs::dicom::kApplicationContext);
    rq.user.max_pdu_length = kOurMaxPdu;
    rq.user.implementation_class_uid = std::string(codecs::dicom::kImplementationClassUid);
    rq.user.implementation_version_name = std::string(codecs::dicom::kImplementationVersionName);
    return rq;
}

ScuLink::ScuLink(asio::any_io_executor executor, std::chrono::seconds timeout)
    : socket_(executor), timer_(executor), timeout_(timeout) {}

awaitable<void> ScuLink::connect(const std::string& host, uint16_t port) {
    const std::string where = host + ":" + std::to_string(port);
    try {
        asio::ip::tcp::resolver resolver(socket_.get_executor());
        const auto endpoints =
            co_await resolver.async_resolve(host, std::to_string(port), use_awaitable);
        timer_.expires_after(timeout_);
        auto r = co_await (asio::async_connect(socket_, endpoints, kNoThrow) ||
                           timer_.async_wait(use_awaitable));
        if (r.index() == 1) throw AssociationFailed("connect to " + where + " timed out");
        fail_on(std::get<0>(std::get<0>(r)), "connect to " + where);
        socket_.set_option(asio::ip::tcp::no_delay(true));
    } catch (const AssociationFailed&) {
        throw;
    } catch (const std::exception& e) {
        throw AssociationFailed("cannot connect to " + where + ": " + e.what());
    }
}

awaitable<AssociateAc> ScuLink::associate(const AssociateRq& rq) {
    co_await write(encode(rq));
    auto [header, body] = co_await read_pdu();
    if (header.type == PduType::associate_rj) {
        const auto rj = decode_associate_rj(body);
        throw AssociationFailed("association rejected (result " + std::to_string(rj.result) +
                                ", source " + std::to_string(rj.source) + ", reason " +
                                std::to_string(rj.reason) + ")");
    }
    if (header.type != PduType::associate_ac) {
        throw AssociationFailed("unexpected answer to A-ASSOCIATE-RQ");
    }
    co_return decode_associate_ac(body);
}

awaitable<void> ScuLink::write(const std::vector<std::byte>& bytes) {
    timer_.expires_after(timeout_);
    auto r = co_await (asio::async_write(socket_, asio::buffer(bytes), kNoThrow) ||
                       timer_.async_wait(use_awaitable));
    if (r.index() == 1) throw AssociationFailed("write timed out");
    fail_on(std::get<0>(std::get<0>(r)), "write");
}

awaitable<std::pair<PduHeader, std::vector<std::byte>>> ScuLink::read_pdu() {
    std::array<std::byte, kPduHeaderSize> raw{};
    co_await read_exactly(raw);
    const PduHeader header = decode_header(raw);
    if (header.length > (16u << 20)) throw AssociationFailed("peer sent an oversized PDU");
    std::vector<std::byte> body(header.length);
    co_await read_exactly(body);
    co_return std::make_pair(header, std::move(body));
}

awaitable<Command> ScuLink::read_command() {
    std::vector<std::byte> command;
    for (bool done = false; !done;) {
        auto [h, b] = co_await read_pdu();
        if (h.type == PduType::abort) throw AssociationFailed("peer aborted the association");
        if (h.type != PduType::p_data) throw AssociationFailed("unexpected PDU from peer");
        for (const auto& pdv : decode_p_data(b)) {
            command.insert(command.end(), pdv.data.begin(), pdv.data.end());
            done = done || (pdv.is_command && pdv.is_last);
        }
    }
    co_return decode_command(command);
}

awaitable<void> ScuLink::release() {
    try {
        co_await write(encode_release_rq());
        co_await read_pdu();  // A-RELEASE-RP; a peer that just closes is fine too
    } catch (const std::exception&) {
    }
    close();
}

void ScuLink::close() {
    boost::system::error_code ec;
    socket_.close(ec);
}

awaitable<void> ScuLink::read_exactly(std::span<std::byte> into) {
    timer_.expires_after(timeout_);
    auto r =
        co_await (asio::async_read(socket_, asio::buffer(into.data(), into.size()), kNoThrow) ||
                  timer_.async_wait(use_awaitable));
    if (r.index() == 1) throw AssociationFailed("no answer from the peer in time");
    fail_on(std::get<0>(std::get<0>(r)), "read");
}

}  // namespace countylink::dicom
