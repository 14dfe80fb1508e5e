// The requester side of an association, shared by what we send out (C-STORE to a county PACS,
// a Storage Commitment report to equipment): a socket whose every step is bounded by the peer's
// timeout, association set-up, and reading commands back.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/dicom/dimse.hpp"
#include "gateway/dicom/pdu.hpp"

namespace countylink::dicom {

struct ScuPeer {
    std::string host;
    uint16_t port = 104;
    std::string called_ae, calling_ae;
    std::chrono::seconds timeout{30};  // for connect, each read and each write
};

// Association-level failure (connect, negotiation, transport): nothing more can be sent now.
class AssociationFailed : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A-ASSOCIATE-RQ from us to `peer` with our identity and maximum PDU, no contexts yet.
AssociateRq association_request(const ScuPeer& peer);

class ScuLink {
  public:
    ScuLink(boost::asio::any_io_executor executor, std::chrono::seconds timeout);

    // Connects to host:port; throws AssociationFailed (also for a timeout).
    boost::asio::awaitable<void> connect(const std::string& host, uint16_t port);
    // Sends `rq` and returns the A-ASSOCIATE-AC; throws AssociationFailed on a rejection.
    boost::asio::awaitable<AssociateAc> associate(const AssociateRq& rq);
    // Writes all of `bytes`; throws AssociationFailed.
    boost::asio::awaitable<void> write(const std::vector<std::byte>& bytes);
    // Reads one PDU (header + body, body at most 16 MiB); throws AssociationFailed.
    boost::asio::awaitable<std::pair<PduHeader, std::vector<std::byte>>> read_pdu();
    // Reads P-DATA until a whole command set has come (datasets are not expected) and decodes
    // it; throws AssociationFailed for an abort or any other PDU.
    boost::asio::awaitable<Command> read_command();
    // A-RELEASE-RQ, and its RP if the peer sends one; then closes. Never throws.
    boost::asio::awaitable<void> release();
    void close();

  private:
    boost::asio::awaitable<void> read_exactly(std::span<std::byte> into);

    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer timer_;
    std::chrono::seconds timeout_;
};

}  // namespace countylink::dicom
