#include "gateway/dicom/dimse.hpp"

#include <algorithm>

namespace countylink::dicom {
namespace {

uint16_t le16(const std::byte* p) {
    return static_cast<uint16_t>(uint16_t(p[0]) | uint16_t(p[1]) << 8);
}
uint32_t le32(const std::byte* p) {
    return le16(p) | uint32_t(le16(p + 2)) << 16;
}

std::string text_value(std::span<const std::byte> v) {
    std::string s(reinterpret_cast<const char*>(v.data()), v.size());
    while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
    const auto first = s.find_first_not_of(' ');
    return first == std::string::npos ? std::string() : s.substr(first);
}

uint16_t us_value(std::span<const std::byte> v, uint16_t element) {
    if (v.size() != 2) {
        throw DimseError("command element (0000," + std::to_string(element) +
                         ") must be 2 bytes long");
    }
    return le16(v.data());
}

class Encoder {
  public:
    void text(uint16_t element, std::string_view value, char pad) {
        if (value.empty()) return;
        header(element, static_cast<uint32_t>(value.size() + value.size() % 2));
        for (char c : value) out_.push_back(std::byte(c));
        if (value.size() % 2) out_.push_back(std::byte(pad));
    }
    void us(uint16_t element, std::optional<uint16_t> value) {
        if (!value) return;
        header(element, 2);
        out_.push_back(std::byte(*value & 0xff));
        out_.push_back(std::byte(*value >> 8));
    }
    std::vector<std::byte> finish() {
        std::vector<std::byte> all;
        all.reserve(out_.size() + 12);
        Encoder group;
        group.header(0x0000, 4);
        const auto len = static_cast<uint32_t>(out_.size());
        for (int i = 0; i < 4; ++i) group.out_.push_back(std::byte((len >> (8 * i)) & 0xff));
        all = std::move(group.out_);
        all.insert(all.end(), out_.begin(), out_.end());
        return all;
    }

  private:
    void header(uint16_t element, uint32_t length) {
        const uint16_t words[2] = {0x0000, element};
        for (uint16_t w : words) {
            out_.push_back(std::byte(w & 0xff));
            out_.push_back(std::byte(w >> 8));
        }
        for (int i = 0; i < 4; ++i) out_.push_back(std::byte((length >> (8 * i)) & 0xff));
    }
    std::vector<std::byte> out_;
};

}  // namespace

Command decode_command(std::span<const std::byte> bytes) {
    Command cmd;
    bool has_field = false;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        if (bytes.size() - pos < 8) throw DimseError("command set ends inside an element header");
        const uint16_t group = le16(&bytes[pos]);
        const uint16_t element = le16(&bytes[pos + 2]);
        const uint32_t length = le32(&bytes[pos + 4]);
        pos += 8;
        if (group != 0x0000) throw DimseError("command set holds an element outside group 0000");
        if (length > bytes.size() - pos) {
            throw DimseError("command element length runs past the end of the command set");
        }
        const auto value = bytes.subspan(pos, length);
        pos += length;
        switch (element) {
            case 0x0002:
                cmd.affected_sop_class_uid = text_value(value);
                break;
            case 0x0003:
                cmd.requested_sop_class_uid = text_value(value);
                break;
            case 0x0100:
                cmd.command_field = us_value(value, element);
                has_field = true;
                break;
            case 0x0110:
                cmd.message_id = us_value(value, element);
                break;
            case 0x0120:
                cmd.message_id_responded_to = us_value(value, element);
                break;
            case 0x0600:
                cmd.move_destination = text_value(value);
                break;
            case 0x0700:
                cmd.priority = us_value(value, element);
                break;
            case 0x0800:
                cmd.data_set_type = us_value(value, element);
                break;
            case 0x0900:
                cmd.status = us_value(value, element);
                break;
            case 0x0902:
                cmd.error_comment = text_value(value);
                break;
            case 0x1000:
                cmd.affected_sop_instance_uid = text_value(value);
                break;
            case 0x1001:
                cmd.requested_sop_instance_uid = text_value(value);
                break;
            case 0x1002:
                cmd.event_type_id = us_value(value, element);
                break;
            case 0x1008:
                cmd.action_type_id = us_value(value, element);
                break;
            case 0x1020:
                cmd.remaining_suboperations = us_value(value, element);
                break;
            case 0x1021:
                cmd.completed_suboperations = us_value(value, element);
                break;
            case 0x1022:
                cmd.failed_suboperations = us_value(value, element);
                break;
            case 0x1023:
                cmd.warning_suboperations = us_value(value, element);
                break;
            case 0x1030:
                cmd.move_originator_ae = text_value(value);
                break;
            case 0x1031:
                cmd.move_originator_message_id = us_value(value, element);
                break;
            default:
                break;  // group length and elements we do not act on
        }
    }
    if (!has_field) throw DimseError("command set has no Command Field (0000,0100)");
    return cmd;
}

std::vector<std::byte> encode_command(const Command& c) {
    Encoder e;
    e.text(0x0002, c.affected_sop_class_uid, '\0');
    e.text(0x0003, c.requested_sop_class_uid, '\0');
    e.us(0x0100, c.command_field);
    e.us(0x0110, c.message_id);
    e.us(0x0120, c.message_id_responded_to);
    e.text(0x0600, c.move_destination, ' ');
    e.us(0x0700, c.priority);
    e.us(0x0800, c.data_set_type);
    e.us(0x0900, c.status);
    e.text(0x0902, std::string_view(c.error_comment).substr(0, 64), ' ');
    e.text(0x1000, c.affected_sop_instance_uid, '\0');
    e.text(0x1001, c.requested_sop_instance_uid, '\0');
    e.us(0x1002, c.event_type_id);
    e.us(0x1008, c.action_type_id);
    e.us(0x1020, c.remaining_suboperations);
    e.us(0x1021, c.completed_suboperations);
    e.us(0x1022, c.failed_suboperations);
    e.us(0x1023, c.warning_suboperations);
    e.text(0x1030, c.move_originator_ae, ' ');
    e.us(0x1031, c.move_originator_message_id);
    return e.finish();
}

Command make_store_request(const std::string& sop_class_uid, const std::string& sop_instance_uid,
                           uint16_t message_id) {
    Command rq;
    rq.command_field = static_cast<uint16_t>(CommandField::c_store_rq);
    rq.affected_sop_class_uid = sop_class_uid;
    rq.affected_sop_instance_uid = sop_instance_uid;
    rq.message_id = message_id;
    rq.priority = 0;
    rq.data_set_type = kDataSetPresent;
    return rq;
}

Command make_response(const Command& request, uint16_t status_code, std::string error_comment) {
    Command rsp;
    rsp.command_field = static_cast<uint16_t>(request.command_field | 0x8000);
    // N-ACTION names its object in the Requested fields; its response in the Affected ones.
    rsp.affected_sop_class_uid = request.requested_sop_class_uid.empty()
                                     ? request.affected_sop_class_uid
                                     : request.requested_sop_class_uid;
    rsp.affected_sop_instance_uid = request.requested_sop_instance_uid.empty()
                                        ? request.affected_sop_instance_uid
                                        : request.requested_sop_instance_uid;
    rsp.action_type_id = request.action_type_id;
    rsp.event_type_id = request.event_type_id;
    rsp.message_id_responded_to = request.message_id.value_or(0);
    rsp.data_set_type = kNoDataSet;
    rsp.status = status_code;
    rsp.error_comment = std::move(error_comment);
    return rsp;
}

}  // namespace countylink::dicom
