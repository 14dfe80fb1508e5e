// The STOW-RS side of forwarding: one POST of multipart/related; type="application/dicom"
// carrying a batch of stored Part-10 objects, streamed from the blob store in chunks, and the
// per-instance outcome read back from the response's Referenced/Failed SOP Sequences.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "gateway/dicom/store_scu.hpp"

namespace countylink::forward {

struct StowPeer {
    std::string host;
    uint16_t port = 80;
    std::string target;  // e.g. "/dicomweb/studies"
    std::string token;   // bearer token; empty: none
    std::chrono::seconds timeout{60};
};

// Splits "http://host[:port][/path]" into a peer whose target is path + "/studies".
// Throws std::invalid_argument for anything else.
StowPeer stow_peer_from_url(const std::string& url, const std::string& token);

// Posts `objects` (their read_dataset gives the whole Part-10 file) in one request. Results in
// order; throws dicom::AssociationFailed when the server cannot be reached or answers with a
// status that says nothing per instance (5xx, 401...).
boost::asio::awaitable<std::vector<dicom::SendResult>> stow_objects(
    boost::asio::any_io_executor executor, boost::asio::thread_pool& workers, const StowPeer& peer,
    std::vector<dicom::OutgoingObject>& objects);

}  // namespace countylink::forward
