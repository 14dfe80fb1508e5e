// DIMSE command sets (PS3.7 section 9.3 and E.1): group 0000 elements, always Implicit VR
// Little Endian, small enough to hold in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace countylink::dicom {

enum class CommandField : uint16_t {
    c_store_rq = 0x0001,
    c_store_rsp = 0x8001,
    c_get_rq = 0x0010,
    c_get_rsp = 0x8010,
    c_find_rq = 0x0020,
    c_find_rsp = 0x8020,
    c_move_rq = 0x0021,
    c_move_rsp = 0x8021,
    c_echo_rq = 0x0030,
    c_cancel_rq = 0x0FFF,
    c_echo_rsp = 0x8030,
    n_event_report_rq = 0x0100,
    n_event_report_rsp = 0x8100,
    n_action_rq = 0x0130,
    n_action_rsp = 0x8130,
};

inline constexpr uint16_t kNoDataSet = 0x0101;
inline constexpr uint16_t kDataSetPresent = 0x0000;  // any other value than kNoDataSet

// DIMSE statuses the gateway answers with (PS3.4 B.2.3 and PS3.7 C).
namespace status {
inline constexpr uint16_t success = 0x0000;
inline constexpr uint16_t warning_not_conformant = 0xB007;  // stored, but flawed
// Stored, but the ECG quality gate says the tracing must be redone (reason in Error Comment).
// C-STORE's warning statuses are B000/B006/B007; B000 is the one senders show without implying
// the dataset itself was wrong.
inline constexpr uint16_t warning_ecg_unacceptable = 0xB000;
inline constexpr uint16_t out_of_resources = 0xA700;   // disk full, object too large
inline constexpr uint16_t dataset_mismatch = 0xA900;   // dataset vs command disagree
inline constexpr uint16_t cannot_understand = 0xC000;  // + 0..4 for the finding
inline constexpr uint16_t sop_class_not_supported = 0x0122;
inline constexpr uint16_t unrecognized_operation = 0x0211;
// N-ACTION failures (PS3.7 C): a request we cannot act on, and one too large to hold.
inline constexpr uint16_t processing_failure = 0x0110;
inline constexpr uint16_t no_such_sop_instance = 0x0112;
inline constexpr uint16_t no_such_action_type = 0x0123;
inline constexpr uint16_t resource_limitation = 0x0213;
// C-FIND (PS3.4 C.4.1.1.4): a match follows; one follows, but some keys were not supported.
inline constexpr uint16_t pending = 0xFF00;
inline constexpr uint16_t pending_unsupported_keys = 0xFF01;
// C-MOVE (PS3.4 C.4.2.1.5): the destination AE is not configured; some sub-operations failed.
inline constexpr uint16_t move_destination_unknown = 0xA801;
inline constexpr uint16_t suboperations_failed = 0xB000;
inline constexpr uint16_t out_of_resources_suboperations = 0xA702;  // none could be sent
inline constexpr uint16_t cancelled = 0xFE00;  // C-GET: stopped at the requester's C-CANCEL
}  // namespace status

// A malformed command set.
class DimseError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct Command {
    uint16_t command_field = 0;
    std::string affected_sop_class_uid;
    std::string affected_sop_instance_uid;
    std::string requested_sop_class_uid;     // N-ACTION (0000,0003)
    std::string requested_sop_instance_uid;  // N-ACTION (0000,1001)
    std::optional<uint16_t> event_type_id;   // N-EVENT-REPORT (0000,1002)
    std::optional<uint16_t> action_type_id;  // N-ACTION (0000,1008)
    std::optional<uint16_t> message_id;
    std::optional<uint16_t> message_id_responded_to;
    std::optional<uint16_t> priority;
    uint16_t data_set_type = kNoDataSet;
    std::optional<uint16_t> status;
    std::string error_comment;     // at most 64 characters are sent
    std::string move_destination;  // C-MOVE-RQ (0000,0600)
    // C-MOVE-RSP (0000,1020-1023): sub-operations remaining, completed, failed, with warnings
    std::optional<uint16_t> remaining_suboperations, completed_suboperations;
    std::optional<uint16_t> failed_suboperations, warning_suboperations;
    std::string move_originator_ae;
    std::optional<uint16_t> move_originator_message_id;

    bool has_data_set() const { return data_set_type != kNoDataSet; }
};

// Parses a complete command set; throws DimseError on bad lengths or a missing Command Field.
Command decode_command(std::span<const std::byte> bytes);

// Encodes the command set with its group length; only fields that are set are written.
std::vector<std::byte> encode_command(const Command& command);

// The response to a request (C-ECHO, C-STORE, N-ACTION, N-EVENT-REPORT) with the given status;
// an N-service response names the SOP class and instance the request asked for.
Command make_response(const Command& request, uint16_t status, std::string error_comment = {});

// A C-STORE-RQ for one instance, medium priority, its dataset to follow.
Command make_store_request(const std::string& sop_class_uid, const std::string& sop_instance_uid,
                           uint16_t message_id);

}  // namespace countylink::dicom
