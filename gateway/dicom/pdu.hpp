// DICOM Upper Layer PDUs (PS3.8 section 9.3): their in-memory form, decoding and encoding.
// Decoding never trusts a length field: every read is bounds-checked and errors are PduError
// carrying the A-ABORT reason to send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace countylink::dicom {

enum class PduType : uint8_t {
    associate_rq = 0x01,
    associate_ac = 0x02,
    associate_rj = 0x03,
    p_data = 0x04,
    release_rq = 0x05,
    release_rp = 0x06,
    abort = 0x07,
};

inline constexpr std::size_t kPduHeaderSize = 6;

// A-ABORT reasons when the source is the service provider (PS3.8 table 9-26).
enum class AbortReason : uint8_t {
    not_specified = 0,
    unrecognized_pdu = 1,
    unexpected_pdu = 2,
    unrecognized_pdu_parameter = 4,
    unexpected_pdu_parameter = 5,
    invalid_pdu_parameter_value = 6,
};

// A malformed PDU; `reason` goes into the A-ABORT we answer with.
class PduError : public std::runtime_error {
  public:
    PduError(AbortReason reason, const std::string& what)
        : std::runtime_error(what), reason(reason) {}
    AbortReason reason;
};

struct PresentationContextRq {
    uint8_t id = 0;
    std::string abstract_syntax;
    std::vector<std::string> transfer_syntaxes;
};

// Presentation context results (PS3.8 table 9-18).
enum class ContextResult : uint8_t {
    acceptance = 0,
    user_rejection = 1,
    no_reason = 2,
    abstract_syntax_not_supported = 3,
    transfer_syntaxes_not_supported = 4,
};

struct PresentationContextAc {
    uint8_t id = 0;
    ContextResult result = ContextResult::acceptance;
    std::string transfer_syntax;
};

// SCP/SCU Role Selection (PS3.7 D.3.3.4): which roles the requester takes for a SOP class.
// A Storage Commitment report on its own association comes from the SCP side, so that
// association proposes scu = false, scp = true.
struct RoleSelection {
    std::string sop_class_uid;
    bool scu = true;
    bool scp = false;
    bool operator==(const RoleSelection&) const = default;
};

struct UserInformation {
    uint32_t max_pdu_length = 0;  // 0: no limit
    std::string implementation_class_uid;
    std::string implementation_version_name;
    std::vector<RoleSelection> roles;
};

struct AssociateRq {
    uint16_t protocol_version = 1;
    std::string called_ae, calling_ae;  // trimmed
    std::string application_context;
    std::vector<PresentationContextRq> contexts;
    UserInformation user;
};

struct AssociateAc {
    uint16_t protocol_version = 1;
    std::string called_ae, calling_ae;
    std::string application_context;
    std::vector<PresentationContextAc> contexts;
    UserInformation user;
};

// A-ASSOCIATE-RJ fields (PS3.8 table 9-21).
struct AssociateRj {
    uint8_t result = 1;  // 1 rejected-permanent, 2 rejected-transient
    uint8_t source = 1;  // 1 service-user, 2 provider (ACSE), 3 provider (presentation)
    uint8_t reason = 1;
};

struct Abort {
    uint8_t source = 2;  // 0 service-user, 2 service-provider
    uint8_t reason = 0;
};

// One presentation data value of a P-DATA-TF; `data` points into the PDU body.
struct Pdv {
    uint8_t context_id = 0;
    bool is_command = false;
    bool is_last = false;
    std::span<const std::byte> data;
};

struct PduHeader {
    PduType type;
    uint32_t length;
};

// Reads the 6-byte header; throws PduError for an unknown type.
PduHeader decode_header(std::span<const std::byte, kPduHeaderSize> bytes);

// Decoders take the PDU body (what follows the 6-byte header).
AssociateRq decode_associate_rq(std::span<const std::byte> body);
AssociateAc decode_associate_ac(std::span<const std::byte> body);
AssociateRj decode_associate_rj(std::span<const std::byte> body);
Abort decode_abort(std::span<const std::byte> body);
// Splits a P-DATA-TF body into PDVs (spans into `body`).
std::vector<Pdv> decode_p_data(std::span<const std::byte> body);

// Encoders return the whole PDU, header included.
std::vector<std::byte> encode(const AssociateRq& rq);
std::vector<std::byte> encode(const AssociateAc& ac);
std::vector<std::byte> encode(const AssociateRj& rj);
std::vector<std::byte> encode(const Abort& abort);
std::vector<std::byte> encode_release_rq();
std::vector<std::byte> encode_release_rp();
// One P-DATA-TF PDU holding one PDV.
std::vector<std::byte> encode_p_data(uint8_t context_id, bool is_command, bool is_last,
                                     std::span<const std::byte> data);
// A whole command set or dataset as P-DATA-TF PDUs of at most `peer_max_pdu` bytes each (the
// peer's announced limit; 0: no limit), the last PDV flagged last.
std::vector<std::vector<std::byte>> encode_p_data_fragments(uint8_t context_id, bool is_command,
                                                            std::span<const std::byte> data,
                                                            uint32_t peer_max_pdu);

}  // namespace countylink::dicom
