// The SCU side: one outgoing association that sends stored objects with C-STORE, each in the
// transfer syntax it was received in, datasets streamed from the blob store in PDV-sized
// chunks. Used by the forward outbox (and later the load generator).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "gateway/dicom/scu_link.hpp"

namespace countylink::dicom {

struct SendResult;

// One object to send. `read_dataset` fills the span with the next dataset bytes and returns
// how many (0 at the end); it runs on the worker pool.
struct OutgoingObject {
    std::string sop_class_uid, sop_instance_uid, transfer_syntax_uid;
    std::function<std::size_t(std::span<std::byte>)> read_dataset;
    // Optional: for a destination that refuses the stored syntax, the dataset converted to `to`
    // (Explicit or Implicit VR Little Endian, the first it accepts), returned as a reader like
    // read_dataset; runs on the worker pool, throws std::runtime_error with the reason. Objects
    // with it are also offered in those syntaxes (one more context per SOP class).
    std::function<std::function<std::size_t(std::span<std::byte>)>(const std::string& to)> convert =
        nullptr;
    // Optional: called on the worker pool as soon as this object's outcome is known (its
    // C-STORE-RSP, or the refusal of its context), before the next object is sent, so a caller
    // can record it durably even if the association or the process dies later in the batch.
    std::function<void(const SendResult&)> on_result = nullptr;
    // Optional, for paced (open-loop) senders such as the load generator: not sent before this
    // time, and its round trip counted from it, so a late send shows as latency.
    std::chrono::steady_clock::time_point not_before{};
    // For a C-MOVE sub-operation: who asked for it, and in which message (0000,1030/1031).
    std::string move_originator_ae{};
    std::optional<uint16_t> move_originator_message_id{};
};

struct SendResult {
    bool sent = false;       // a C-STORE-RSP came back
    uint16_t status = 0;     // its status
    std::string error;       // why not sent, or the Error Comment
    bool permanent = false;  // refusal that retrying will not fix (context rejected, 0xA9xx...)
    std::chrono::nanoseconds round_trip{0};  // C-STORE-RQ sent (or due) -> C-STORE-RSP read
};

// Awaited on the sending executor with each object's index and outcome (after its on_result),
// before the next object goes: a C-MOVE tells its requester how far it got.
using SendProgress =
    std::function<boost::asio::awaitable<void>(std::size_t index, const SendResult& result)>;

// Sends `objects` over one association; results in the same order. Throws AssociationFailed
// when the association cannot be made or breaks (results so far reached each object's
// on_result and `progress`; the rest were not delivered).
boost::asio::awaitable<std::vector<SendResult>> send_objects(boost::asio::any_io_executor executor,
                                                             boost::asio::thread_pool& workers,
                                                             const ScuPeer& peer,
                                                             std::vector<OutgoingObject>& objects,
                                                             SendProgress progress = {});

}  // namespace countylink::dicom
