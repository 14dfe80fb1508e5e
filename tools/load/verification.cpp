#include "verification.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/sop_classes.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/pdu.hpp"

namespace countylink::load {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint8_t kContext = 1;

awaitable<std::pair<dicom::PduHeader, std::vector<std::byte>>> read_pdu(tcp::socket& socket) {
    std::array<std::byte, dicom::kPduHeaderSize> raw{};
    co_await asio::async_read(socket, asio::buffer(raw.data(), raw.size()), use_awaitable);
    const dicom::PduHeader header = dicom::decode_header(raw);
    if (header.length > (1u << 20)) throw std::runtime_error("oversized PDU from the server");
    std::vector<std::byte> body(header.length);
    co_await asio::async_read(socket, asio::buffer(body.data(), body.size()), use_awaitable);
    co_return std::make_pair(header, std::move(body));
}

awaitable<void> write(tcp::socket& socket, const std::vector<std::byte>& bytes) {
    co_await asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()), use_awaitable);
}

// Connects and negotiates Verification; throws with the reason when refused.
awaitable<void> associate(tcp::socket& socket, const dicom::ScuPeer& peer) {
    tcp::resolver resolver(socket.get_executor());
    const auto endpoints =
        co_await resolver.async_resolve(peer.host, std::to_string(peer.port), use_awaitable);
    co_await asio::async_connect(socket, endpoints, use_awaitable);
    socket.set_option(tcp::no_delay(true));
    dicom::AssociateRq rq;
    rq.called_ae = peer.called_ae;
    rq.calling_ae = peer.calling_ae;
    rq.application_context = std::string(codecs::dicom::kApplicationContext);
    rq.user.max_pdu_length = 16384;
    rq.user.implementation_class_uid = std::string(codecs::dicom::kImplementationClassUid);
    rq.contexts.push_back(
        {kContext, std::string(codecs::dicom::kVerificationSopClass), {"1.2.840.10008.1.2"}});
    co_await write(socket, dicom::encode(rq));
    auto [header, body] = co_await read_pdu(socket);
    if (header.type != dicom::PduType::associate_ac)
        throw std::runtime_error("association refused");
}

awaitable<void> release(tcp::socket& socket) {
    co_await write(socket, dicom::encode_release_rq());
    co_await read_pdu(socket);
}

// Waits until `stop` is cancelled (or, with an interval, until the interval passes).
awaitable<bool> stopped_after(asio::steady_timer& stop, asio::steady_timer& own,
                              std::chrono::milliseconds interval) {
    boost::system::error_code ec;
    if (interval.count() == 0) {
        co_await stop.async_wait(asio::redirect_error(use_awaitable, ec));
        co_return true;
    }
    own.expires_after(interval);
    co_await own.async_wait(asio::redirect_error(use_awaitable, ec));
    co_return stop.expiry() <= asio::steady_timer::clock_type::now();
}

}  // namespace

awaitable<void> hold_idle(dicom::ScuPeer peer, asio::steady_timer& stop, VerificationStats& stats) {
    tcp::socket socket(co_await asio::this_coro::executor);
    try {
        co_await associate(socket, peer);
        ++stats.opened;
        asio::steady_timer own(socket.get_executor());
        co_await stopped_after(stop, own, std::chrono::milliseconds(0));
        co_await release(socket);
    } catch (const std::exception& e) {
        stats.failures.push_back(e.what());
    }
}

awaitable<void> echo_every(dicom::ScuPeer peer, std::chrono::milliseconds interval,
                           asio::steady_timer& stop, VerificationStats& stats) {
    tcp::socket socket(co_await asio::this_coro::executor);
    try {
        co_await associate(socket, peer);
        ++stats.opened;
        asio::steady_timer own(socket.get_executor());
        uint16_t id = 0;
        do {
            dicom::Command rq;
            rq.command_field = static_cast<uint16_t>(dicom::CommandField::c_echo_rq);
            rq.affected_sop_class_uid = std::string(codecs::dicom::kVerificationSopClass);
            rq.message_id = ++id;
            const auto sent = Clock::now();
            co_await write(socket,
                           dicom::encode_p_data(kContext, true, true, dicom::encode_command(rq)));
            auto [header, body] = co_await read_pdu(socket);
            if (header.type != dicom::PduType::p_data) throw std::runtime_error("no C-ECHO-RSP");
            stats.echo_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        } while (!co_await stopped_after(stop, own, interval));
        co_await release(socket);
    } catch (const std::exception& e) {
        stats.failures.push_back(e.what());
    }
}

}  // namespace countylink::load
