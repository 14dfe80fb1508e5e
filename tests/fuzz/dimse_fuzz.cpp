// DIMSE command sets: whatever decodes must encode and decode to the same command, and the
// response we would send for it must encode.
#include "gateway/dicom/dimse.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {

int dimse(std::span<const std::byte> input) {
    dicom::Command cmd;
    try {
        cmd = dicom::decode_command(input);
    } catch (const dicom::DimseError&) {
        return 0;  // expected: the association aborts
    }
    const auto again = dicom::decode_command(dicom::encode_command(cmd));
    if (again.command_field != cmd.command_field || again.message_id != cmd.message_id ||
        again.affected_sop_class_uid != cmd.affected_sop_class_uid ||
        again.affected_sop_instance_uid != cmd.affected_sop_instance_uid ||
        again.data_set_type != cmd.data_set_type || again.status != cmd.status) {
        fail("DIMSE command round trip changed the command");
    }
    const auto rsp = dicom::make_response(cmd, dicom::status::success, cmd.error_comment);
    (void)dicom::decode_command(dicom::encode_command(rsp));
    return 0;
}

}  // namespace countylink::fuzz
