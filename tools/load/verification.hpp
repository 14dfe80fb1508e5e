// Associations that only propose Verification: held open and idle (to measure what idle
// associations cost the server), or sending C-ECHO at an interval while the load runs (to
// measure how responsive the server stays under it).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "gateway/dicom/store_scu.hpp"

namespace countylink::load {

struct VerificationStats {
    std::size_t opened = 0;             // associations accepted
    std::vector<std::string> failures;  // why others were not
    std::vector<double> echo_ms;        // C-ECHO round trips
};

// Opens an association and holds it without traffic until `stop` is cancelled, then releases.
boost::asio::awaitable<void> hold_idle(dicom::ScuPeer peer, boost::asio::steady_timer& stop,
                                       VerificationStats& stats);

// Opens an association and sends a C-ECHO-RQ every `interval` until `stop` is cancelled,
// recording each round trip; then releases.
boost::asio::awaitable<void> echo_every(dicom::ScuPeer peer, std::chrono::milliseconds interval,
                                        boost::asio::steady_timer& stop, VerificationStats& stats);

}  // namespace countylink::load
