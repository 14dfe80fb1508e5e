// DIMSE command sets (PS3.7 section 9.3 and annex E): group 0000 in Implicit VR Little Endian.
// Equipment reads our responses with its own parser, so the bytes must follow PS3.5/PS3.7:
// a correct group length, even value lengths, UIDs padded with NUL, text with space.
#include "gateway/dicom/dimse.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace countylink::dicom {
namespace {

using Bytes = std::vector<std::byte>;

constexpr std::string_view kCtImageStorage = "1.2.840.10008.5.1.4.1.1.2";  // 25, odd
constexpr std::string_view kVerification = "1.2.840.10008.1.1";            // 17, odd

// Little-endian element writing and reading, independent of the code under test.
void put16(Bytes& out, uint16_t v) {
    out.push_back(std::byte(v & 0xff));
    out.push_back(std::byte(v >> 8));
}
void put32(Bytes& out, uint32_t v) {
    put16(out, uint16_t(v & 0xffff));
    put16(out, uint16_t(v >> 16));
}
void put_element(Bytes& out, uint16_t element, const Bytes& value) {
    put16(out, 0x0000);
    put16(out, element);
    put32(out, static_cast<uint32_t>(value.size()));
    out.insert(out.end(), value.begin(), value.end());
}
Bytes us(uint16_t v) {
    Bytes b;
    put16(b, v);
    return b;
}
Bytes text(std::string_view s) {
    Bytes b;
    for (char c : s) b.push_back(std::byte(c));
    return b;
}
uint32_t get32(const Bytes& b, std::size_t at) {
    return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 |
           uint32_t(b[at + 3]) << 24;
}

// Element number -> raw value of an encoded command set (all elements are group 0000).
std::map<uint16_t, Bytes> elements_of(const Bytes& set) {
    std::map<uint16_t, Bytes> out;
    std::size_t at = 0;
    while (at + 8 <= set.size()) {
        EXPECT_EQ(uint16_t(set[at]) | uint16_t(set[at + 1]) << 8, 0x0000) << "group at " << at;
        const uint16_t element = uint16_t(uint16_t(set[at + 2]) | uint16_t(set[at + 3]) << 8);
        const uint32_t length = get32(set, at + 4);
        EXPECT_LE(at + 8 + length, set.size()) << "element " << element;
        out[element] = Bytes(set.begin() + long(at + 8), set.begin() + long(at + 8 + length));
        at += 8 + length;
    }
    EXPECT_EQ(at, set.size()) << "trailing bytes after the last element";
    return out;
}

Command c_store_rq() {
    Command c;
    c.command_field = static_cast<uint16_t>(CommandField::c_store_rq);
    c.affected_sop_class_uid = std::string(kCtImageStorage);
    c.affected_sop_instance_uid = "1.2.826.0.1.3680043.2.1125.1";  // 28, even
    c.message_id = 7;
    c.priority = 0x0001;       // HIGH
    c.data_set_type = 0x0000;  // a data set follows
    c.move_originator_ae = "COUNTYPACS";
    c.move_originator_message_id = 12;
    return c;
}

TEST(DimseCommand, CStoreRqRoundTrip) {
    const Command rq = c_store_rq();
    const Command back = decode_command(encode_command(rq));
    EXPECT_EQ(back.command_field, 0x0001);
    EXPECT_EQ(back.affected_sop_class_uid, kCtImageStorage);
    EXPECT_EQ(back.affected_sop_instance_uid, rq.affected_sop_instance_uid);
    EXPECT_EQ(back.message_id, 7);
    EXPECT_EQ(back.priority, 0x0001);
    EXPECT_EQ(back.data_set_type, 0x0000);
    EXPECT_TRUE(back.has_data_set());
    EXPECT_EQ(back.move_originator_ae, "COUNTYPACS");
    EXPECT_EQ(back.move_originator_message_id, 12);
    EXPECT_FALSE(back.status.has_value());
    EXPECT_FALSE(back.message_id_responded_to.has_value());
}

// C-MOVE: the destination in the request, the sub-operation counts in the response.
TEST(DimseCommand, CMoveFieldsRoundTrip) {
    Command rq;
    rq.command_field = static_cast<uint16_t>(CommandField::c_move_rq);
    rq.affected_sop_class_uid = "1.2.840.10008.5.1.4.1.2.2.2";
    rq.message_id = 9;
    rq.priority = 0;
    rq.data_set_type = kDataSetPresent;
    rq.move_destination = "RAD_WS1";
    const Command back = decode_command(encode_command(rq));
    EXPECT_EQ(back.move_destination, "RAD_WS1") << "padded to even length, trimmed back";
    Command rsp = make_response(back, status::suboperations_failed);
    rsp.remaining_suboperations = 0;
    rsp.completed_suboperations = 7;
    rsp.failed_suboperations = 2;
    rsp.warning_suboperations = 1;
    const Command again = decode_command(encode_command(rsp));
    EXPECT_EQ(again.command_field, 0x8021);
    EXPECT_EQ(again.message_id_responded_to, 9);
    EXPECT_EQ(again.status, 0xB000);
    EXPECT_EQ(again.remaining_suboperations, 0);
    EXPECT_EQ(again.completed_suboperations, 7);
    EXPECT_EQ(again.failed_suboperations, 2);
    EXPECT_EQ(again.warning_suboperations, 1);
    EXPECT_TRUE(again.move_destination.empty());
}

TEST(DimseCommand, CEchoRspRoundTrip) {
    Command rsp;
    rsp.command_field = static_cast<uint16_t>(CommandField::c_echo_rsp);
    rsp.affected_sop_class_uid = std::string(kVerification);
    rsp.message_id_responded_to = 3;
    rsp.status = status::success;
    const Bytes bytes = encode_command(rsp);

    const Command back = decode_command(bytes);
    EXPECT_EQ(back.command_field, 0x8030);
    EXPECT_EQ(back.affected_sop_class_uid, kVerification);
    EXPECT_EQ(back.message_id_responded_to, 3);
    EXPECT_EQ(back.status, 0x0000);
    EXPECT_EQ(back.data_set_type, kNoDataSet);
    EXPECT_FALSE(back.has_data_set());
    EXPECT_FALSE(back.message_id.has_value());

    // Only the elements that were set are sent (plus the group length).
    const auto elements = elements_of(bytes);
    std::vector<uint16_t> tags;
    for (const auto& [tag, value] : elements) tags.push_back(tag);
    EXPECT_EQ(tags, (std::vector<uint16_t>{0x0000, 0x0002, 0x0100, 0x0120, 0x0800, 0x0900}));
    EXPECT_EQ(elements.at(0x0800), us(0x0101));
}

// (0000,0000) UL, length 4, value = bytes after the group length element (PS3.7 E.1).
TEST(DimseCommand, GroupLengthCountsEveryFollowingByte) {
    for (const Command& c : {c_store_rq(), make_response(c_store_rq(), 0xA700, "disk full")}) {
        const Bytes bytes = encode_command(c);
        ASSERT_GE(bytes.size(), 12u);
        EXPECT_EQ(Bytes(bytes.begin(), bytes.begin() + 8),
                  (Bytes{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{4},
                         std::byte{0}, std::byte{0}, std::byte{0}}));
        EXPECT_EQ(get32(bytes, 8), bytes.size() - 12);
    }
}

// UIDs (UI) are padded to even length with a single NUL, PS3.5 section 9.1.
TEST(DimseCommand, OddLengthUidPaddedWithNul) {
    Command c = c_store_rq();
    c.affected_sop_instance_uid = "1.2.3.4.5";  // 9
    const auto elements = elements_of(encode_command(c));

    const Bytes& sop_class = elements.at(0x0002);
    ASSERT_EQ(sop_class.size(), kCtImageStorage.size() + 1);
    EXPECT_EQ(sop_class.back(), std::byte{0});
    EXPECT_EQ(Bytes(sop_class.begin(), sop_class.end() - 1), text(kCtImageStorage));

    const Bytes& sop_instance = elements.at(0x1000);
    ASSERT_EQ(sop_instance.size(), 10u);
    EXPECT_EQ(sop_instance.back(), std::byte{0});

    for (const auto& [tag, value] : elements) EXPECT_EQ(value.size() % 2, 0u) << "element " << tag;

    // The padding is not part of the value once decoded.
    EXPECT_EQ(decode_command(encode_command(c)).affected_sop_instance_uid, "1.2.3.4.5");
}

// Error Comment (0000,0902) is LO: at most 64 characters (PS3.7 C.4), padded with a space.
TEST(DimseCommand, ErrorCommentTruncatedTo64) {
    const std::string long_comment = std::string(40, 'a') + std::string(60, 'b');
    const Command rsp = make_response(c_store_rq(), status::cannot_understand, long_comment);
    const Bytes bytes = encode_command(rsp);
    EXPECT_EQ(elements_of(bytes).at(0x0902).size(), 64u);
    EXPECT_EQ(decode_command(bytes).error_comment, long_comment.substr(0, 64));

    const Command odd = make_response(c_store_rq(), status::cannot_understand, "bad");
    const Bytes odd_value = elements_of(encode_command(odd)).at(0x0902);
    EXPECT_EQ(odd_value, text("bad "));
}

TEST(DimseCommand, LengthRunningPastTheEndIsRefused) {
    Bytes set;
    put_element(set, 0x0100, us(0x0001));
    put16(set, 0x0000);
    put16(set, 0x1000);
    put32(set, 64);  // claims 64 bytes, 9 follow
    const Bytes uid = text("1.2.3.4.5");
    set.insert(set.end(), uid.begin(), uid.end());
    EXPECT_THROW(decode_command(set), DimseError);

    Bytes huge;
    put_element(huge, 0x0100, us(0x0001));
    put16(huge, 0x0000);
    put16(huge, 0x0002);
    put32(huge, 0xFFFFFFFF);
    EXPECT_THROW(decode_command(huge), DimseError);

    Bytes cut_header;
    put_element(cut_header, 0x0100, us(0x0001));
    cut_header.insert(cut_header.end(), {std::byte{0}, std::byte{0}, std::byte{0x10}});
    EXPECT_THROW(decode_command(cut_header), DimseError);
}

TEST(DimseCommand, MissingCommandFieldIsRefused) {
    Bytes set;
    put_element(set, 0x0002, text("1.2.840.10008.1.1"));
    put_element(set, 0x0110, us(1));
    put_element(set, 0x0800, us(kNoDataSet));
    EXPECT_THROW(decode_command(set), DimseError);
    EXPECT_THROW(decode_command({}), DimseError);
}

TEST(DimseCommand, MalformedElementsAreRefused) {
    Bytes wrong_size;
    put_element(
        wrong_size, 0x0100,
        Bytes{std::byte{0x30}, std::byte{0}, std::byte{0}, std::byte{0}});  // US must be 2 bytes
    EXPECT_THROW(decode_command(wrong_size), DimseError);

    Bytes other_group;
    put_element(other_group, 0x0100, us(0x0030));
    put16(other_group, 0x0008);
    put16(other_group, 0x0016);
    put32(other_group, 2);
    put16(other_group, 0x3131);
    EXPECT_THROW(decode_command(other_group), DimseError);
}

// A command set written by another implementation: decoding must not depend on our encoder.
TEST(DimseCommand, DecodesHandBuiltCEchoRq) {
    Bytes body;
    put_element(body, 0x0002, text(std::string_view("1.2.840.10008.1.1\0", 18)));  // NUL pad
    put_element(body, 0x0100, us(0x0030));
    put_element(body, 0x0110, us(0x1234));
    put_element(body, 0x0800, us(0x0101));
    Bytes set;
    put_element(set, 0x0000, [&] {
        Bytes v;
        put32(v, static_cast<uint32_t>(body.size()));
        return v;
    }());
    set.insert(set.end(), body.begin(), body.end());

    const Command c = decode_command(set);
    EXPECT_EQ(c.command_field, 0x0030);
    EXPECT_EQ(c.affected_sop_class_uid, kVerification);
    EXPECT_EQ(c.message_id, 0x1234);
    EXPECT_FALSE(c.has_data_set());
}

TEST(DimseResponse, CStoreResponse) {
    const Command rq = c_store_rq();
    const Command rsp = make_response(rq, status::warning_not_conformant, "pixel data odd");
    EXPECT_EQ(rsp.command_field, 0x8001);
    EXPECT_EQ(rsp.message_id_responded_to, 7);
    EXPECT_FALSE(rsp.message_id.has_value());
    EXPECT_EQ(rsp.affected_sop_class_uid, rq.affected_sop_class_uid);
    EXPECT_EQ(rsp.affected_sop_instance_uid, rq.affected_sop_instance_uid);
    EXPECT_EQ(rsp.status, 0xB007);
    EXPECT_EQ(rsp.error_comment, "pixel data odd");
    EXPECT_FALSE(rsp.has_data_set());
    EXPECT_FALSE(rsp.priority.has_value());

    // What the equipment receives.
    const Command wire = decode_command(encode_command(rsp));
    EXPECT_EQ(wire.command_field, 0x8001);
    EXPECT_EQ(wire.message_id_responded_to, 7);
    EXPECT_EQ(wire.data_set_type, kNoDataSet);
    EXPECT_EQ(wire.status, 0xB007);
}

TEST(DimseResponse, CEchoResponse) {
    Command rq;
    rq.command_field = static_cast<uint16_t>(CommandField::c_echo_rq);
    rq.affected_sop_class_uid = std::string(kVerification);
    rq.message_id = 65535;
    const Command rsp = make_response(rq, status::success);
    EXPECT_EQ(rsp.command_field, 0x8030);
    EXPECT_EQ(rsp.message_id_responded_to, 65535);
    EXPECT_EQ(rsp.affected_sop_class_uid, kVerification);
    EXPECT_EQ(rsp.status, 0x0000);
    EXPECT_FALSE(rsp.has_data_set());
    EXPECT_TRUE(rsp.error_comment.empty());
    EXPECT_EQ(elements_of(encode_command(rsp)).count(0x0902), 0u);  // no empty Error Comment
}

}  // namespace
}  // namespace countylink::dicom
