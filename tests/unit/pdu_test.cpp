// DICOM Upper Layer PDUs (PS3.8 section 9.3): what equipment sends us must decode to the right
// fields, what we send must be byte-exact, and malformed input must become a PduError carrying
// the A-ABORT reason (never a crash or an out-of-bounds read).
#include "gateway/dicom/pdu.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace countylink::dicom {
namespace {

using Bytes = std::vector<std::byte>;

constexpr std::string_view kAppContext = "1.2.840.10008.3.1.1.1";
constexpr std::string_view kCtImageStorage = "1.2.840.10008.5.1.4.1.1.2";
constexpr std::string_view kVerification = "1.2.840.10008.1.1";
constexpr std::string_view kImplicitLe = "1.2.840.10008.1.2";
constexpr std::string_view kExplicitLe = "1.2.840.10008.1.2.1";
constexpr std::string_view kJpegLossless = "1.2.840.10008.1.2.4.70";

// Big-endian byte building, written from the PS3.8 tables rather than from our encoder.
struct ByteBuilder {
    Bytes out;
    ByteBuilder& u8(uint8_t v) {
        out.push_back(std::byte{v});
        return *this;
    }
    ByteBuilder& u16(uint16_t v) { return u8(uint8_t(v >> 8)).u8(uint8_t(v & 0xff)); }
    ByteBuilder& u32(uint32_t v) { return u16(uint16_t(v >> 16)).u16(uint16_t(v & 0xffff)); }
    ByteBuilder& text(std::string_view s) {
        for (char c : s) u8(static_cast<uint8_t>(c));
        return *this;
    }
    ByteBuilder& zeros(std::size_t n) {
        out.insert(out.end(), n, std::byte{0});
        return *this;
    }
    ByteBuilder& bytes(const Bytes& b) {
        out.insert(out.end(), b.begin(), b.end());
        return *this;
    }
    // An item: type, reserved 00, 2-byte length, value (PS3.8 tables 9-12 .. 9-16).
    ByteBuilder& item(uint8_t type, const Bytes& value) {
        return u8(type).u8(0).u16(static_cast<uint16_t>(value.size())).bytes(value);
    }
};

Bytes text_bytes(std::string_view s) {
    return ByteBuilder{}.text(s).out;
}

Bytes of(std::initializer_list<int> values) {
    Bytes b;
    for (int v : values) b.push_back(std::byte(static_cast<uint8_t>(v)));
    return b;
}

// The body of a PDU: what follows the 6-byte header.
std::span<const std::byte> body_of(const Bytes& pdu) {
    return std::span<const std::byte>(pdu).subspan(kPduHeaderSize);
}

PduHeader header_of(const Bytes& pdu) {
    return decode_header(std::span<const std::byte, kPduHeaderSize>(pdu.data(), kPduHeaderSize));
}

// The AbortReason of the PduError `action` throws; a failed expectation if it throws nothing
// or something else.
template <typename Fn>
AbortReason abort_reason_of(Fn action) {
    try {
        action();
    } catch (const PduError& error) {
        return error.reason;
    } catch (const std::exception& error) {
        ADD_FAILURE() << "expected a PduError, got: " << error.what();
        return AbortReason::not_specified;
    }
    ADD_FAILURE() << "expected a PduError, nothing was thrown";
    return AbortReason::not_specified;
}

AssociateRq sample_rq() {
    AssociateRq rq;
    rq.called_ae = "COUNTYLINK";
    rq.calling_ae = "CT_TOWN01";
    rq.application_context = std::string(kAppContext);
    rq.contexts.push_back(
        {1,
         std::string(kCtImageStorage),
         {std::string(kJpegLossless), std::string(kExplicitLe), std::string(kImplicitLe)}});
    rq.contexts.push_back({3, std::string(kVerification), {std::string(kImplicitLe)}});
    rq.user.max_pdu_length = 16384;
    rq.user.implementation_class_uid = "1.2.276.0.7230010.3.0.3.6.7";
    rq.user.implementation_version_name = "OFFIS_DCMTK_367";
    return rq;
}

TEST(PduAssociateRq, EncodeDecodeRoundTrip) {
    const AssociateRq rq = sample_rq();
    const Bytes pdu = encode(rq);

    const PduHeader header = header_of(pdu);
    EXPECT_EQ(header.type, PduType::associate_rq);
    EXPECT_EQ(header.length, pdu.size() - kPduHeaderSize);
    // AE titles occupy 16 bytes each, space padded (PS3.8 table 9-11, bytes 11-26 and 27-42).
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(pdu.data() + 10), 16), "COUNTYLINK      ");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(pdu.data() + 26), 16), "CT_TOWN01       ");

    const AssociateRq back = decode_associate_rq(body_of(pdu));
    EXPECT_EQ(back.protocol_version, 1);
    EXPECT_EQ(back.called_ae, "COUNTYLINK");  // padding trimmed
    EXPECT_EQ(back.calling_ae, "CT_TOWN01");
    EXPECT_EQ(back.application_context, kAppContext);
    ASSERT_EQ(back.contexts.size(), 2u);
    EXPECT_EQ(back.contexts[0].id, 1);
    EXPECT_EQ(back.contexts[0].abstract_syntax, kCtImageStorage);
    EXPECT_EQ(back.contexts[0].transfer_syntaxes, rq.contexts[0].transfer_syntaxes);
    EXPECT_EQ(back.contexts[1].id, 3);
    EXPECT_EQ(back.contexts[1].abstract_syntax, kVerification);
    EXPECT_EQ(back.contexts[1].transfer_syntaxes, rq.contexts[1].transfer_syntaxes);
    EXPECT_EQ(back.user.max_pdu_length, 16384u);
    EXPECT_EQ(back.user.implementation_class_uid, rq.user.implementation_class_uid);
    EXPECT_EQ(back.user.implementation_version_name, rq.user.implementation_version_name);
}

// A minimal A-ASSOCIATE-RQ laid out byte by byte from PS3.8 tables 9-11 (PDU), 9-12
// (application context), 9-13/9-14/9-15 (presentation context, abstract and transfer syntax)
// and 9-16 / D.1-1 / D.3-1 (user information, maximum length, implementation class UID).
// Some equipment pads odd-length UIDs with a NUL and AE titles with leading spaces; both are
// not significant and must not reach negotiation.
TEST(PduAssociateRq, DecodesHandBuiltStandardLayout) {
    const Bytes ct_uid_padded = ByteBuilder{}.text(kCtImageStorage).u8(0).out;  // 25 + NUL

    const Bytes pc_value = ByteBuilder{}
                               .u8(0x07)  // presentation context ID
                               .zeros(3)  // reserved
                               .item(0x30, ct_uid_padded)
                               .item(0x40, text_bytes(kExplicitLe))
                               .out;
    const Bytes user_value = ByteBuilder{}
                                 .item(0x51, ByteBuilder{}.u32(0x00010000).out)
                                 .item(0x52, text_bytes("1.2.3.4"))
                                 .out;
    const Bytes variable = ByteBuilder{}
                               .item(0x10, text_bytes(kAppContext))
                               .item(0x20, pc_value)
                               .item(0x50, user_value)
                               .out;
    const Bytes body = ByteBuilder{}
                           .u16(0x0001)  // protocol version: bit 0
                           .zeros(2)     // reserved
                           .text("COUNTYLINK      ")
                           .text("  US_TOWN02     ")
                           .zeros(32)  // reserved
                           .bytes(variable)
                           .out;
    const Bytes pdu = ByteBuilder{}.u8(0x01).u8(0).u32(uint32_t(body.size())).bytes(body).out;
    ASSERT_EQ(body.size(),
              68u + 4 + kAppContext.size() + 4 + pc_value.size() + 4 + user_value.size());

    const PduHeader header = header_of(pdu);
    EXPECT_EQ(header.type, PduType::associate_rq);
    EXPECT_EQ(header.length, body.size());

    const AssociateRq rq = decode_associate_rq(body_of(pdu));
    EXPECT_EQ(rq.protocol_version, 1);
    EXPECT_EQ(rq.called_ae, "COUNTYLINK");
    EXPECT_EQ(rq.calling_ae, "US_TOWN02");
    EXPECT_EQ(rq.application_context, kAppContext);
    ASSERT_EQ(rq.contexts.size(), 1u);
    EXPECT_EQ(rq.contexts[0].id, 7);
    EXPECT_EQ(rq.contexts[0].abstract_syntax, kCtImageStorage);
    ASSERT_EQ(rq.contexts[0].transfer_syntaxes.size(), 1u);
    EXPECT_EQ(rq.contexts[0].transfer_syntaxes[0], kExplicitLe);
    EXPECT_EQ(rq.user.max_pdu_length, 65536u);
    EXPECT_EQ(rq.user.implementation_class_uid, "1.2.3.4");
    EXPECT_EQ(rq.user.implementation_version_name, "");
}

TEST(PduAssociateAc, EncodeDecodeRoundTrip) {
    AssociateAc ac;
    ac.called_ae = "COUNTYLINK";
    ac.calling_ae = "CT_TOWN01";
    ac.application_context = std::string(kAppContext);
    ac.contexts.push_back({1, ContextResult::acceptance, std::string(kJpegLossless)});
    ac.contexts.push_back({3, ContextResult::abstract_syntax_not_supported, ""});
    ac.contexts.push_back({5, ContextResult::transfer_syntaxes_not_supported, ""});
    ac.user.max_pdu_length = 262144;
    ac.user.implementation_class_uid = "1.2.826.0.1.3680043.10.1234.1";
    ac.user.implementation_version_name = "COUNTYLINK_010";

    const Bytes pdu = encode(ac);
    const PduHeader header = header_of(pdu);
    EXPECT_EQ(header.type, PduType::associate_ac);
    EXPECT_EQ(header.length, pdu.size() - kPduHeaderSize);

    const AssociateAc back = decode_associate_ac(body_of(pdu));
    EXPECT_EQ(back.protocol_version, 1);
    EXPECT_EQ(back.called_ae, "COUNTYLINK");
    EXPECT_EQ(back.calling_ae, "CT_TOWN01");
    EXPECT_EQ(back.application_context, kAppContext);
    ASSERT_EQ(back.contexts.size(), 3u);
    EXPECT_EQ(back.contexts[0].id, 1);
    EXPECT_EQ(back.contexts[0].result, ContextResult::acceptance);
    EXPECT_EQ(back.contexts[0].transfer_syntax, kJpegLossless);
    EXPECT_EQ(back.contexts[1].id, 3);
    EXPECT_EQ(back.contexts[1].result, ContextResult::abstract_syntax_not_supported);
    EXPECT_EQ(back.contexts[2].id, 5);
    EXPECT_EQ(back.contexts[2].result, ContextResult::transfer_syntaxes_not_supported);
    EXPECT_EQ(back.user.max_pdu_length, 262144u);
    EXPECT_EQ(back.user.implementation_class_uid, ac.user.implementation_class_uid);
    EXPECT_EQ(back.user.implementation_version_name, ac.user.implementation_version_name);
}

// PS3.8 table 9-21: 03 00, length 4, reserved, result, source, reason/diag.
TEST(PduAssociateRj, BytesAsStandardSpecifies) {
    EXPECT_EQ(encode(AssociateRj{1, 1, 7}), of({0x03, 0x00, 0, 0, 0, 4, 0x00, 1, 1, 7}));
    EXPECT_EQ(encode(AssociateRj{2, 3, 2}), of({0x03, 0x00, 0, 0, 0, 4, 0x00, 2, 3, 2}));

    const Bytes peer = of({0x03, 0x00, 0, 0, 0, 4, 0x00, 1, 2, 2});
    const AssociateRj rj = decode_associate_rj(body_of(peer));
    EXPECT_EQ(rj.result, 1);
    EXPECT_EQ(rj.source, 2);
    EXPECT_EQ(rj.reason, 2);
}

// PS3.8 table 9-26: 07 00, length 4, two reserved bytes, source, reason/diag.
TEST(PduAbort, BytesAsStandardSpecifies) {
    EXPECT_EQ(encode(Abort{2, 6}), of({0x07, 0x00, 0, 0, 0, 4, 0x00, 0x00, 2, 6}));
    EXPECT_EQ(encode(Abort{0, 0}), of({0x07, 0x00, 0, 0, 0, 4, 0x00, 0x00, 0, 0}));

    const Bytes peer = of({0x07, 0x00, 0, 0, 0, 4, 0x00, 0x00, 2, 1});
    const Abort abort = decode_abort(body_of(peer));
    EXPECT_EQ(abort.source, 2);
    EXPECT_EQ(abort.reason, 1);
}

// PS3.8 tables 9-24 and 9-25: type, reserved, length 4, four reserved bytes.
TEST(PduRelease, BytesAsStandardSpecifies) {
    EXPECT_EQ(encode_release_rq(), of({0x05, 0x00, 0, 0, 0, 4, 0, 0, 0, 0}));
    EXPECT_EQ(encode_release_rp(), of({0x06, 0x00, 0, 0, 0, 4, 0, 0, 0, 0}));
}

// PS3.8 table 9-22 and annex E.2: PDV item length (4 bytes) covers the context ID, the
// message control header (bit 0 command, bit 1 last fragment) and the fragment.
TEST(PduPData, EncodeOnePdvAsStandardSpecifies) {
    const Bytes data = of({0xAA, 0xBB, 0xCC});
    EXPECT_EQ(encode_p_data(5, true, true, data),
              of({0x04, 0x00, 0, 0, 0, 9, 0, 0, 0, 5, 5, 0x03, 0xAA, 0xBB, 0xCC}));
    EXPECT_EQ(encode_p_data(5, false, false, data),
              of({0x04, 0x00, 0, 0, 0, 9, 0, 0, 0, 5, 5, 0x00, 0xAA, 0xBB, 0xCC}));
    EXPECT_EQ(encode_p_data(7, false, true, {}), of({0x04, 0x00, 0, 0, 0, 6, 0, 0, 0, 2, 7, 0x02}));
}

TEST(PduPData, DecodeTwoPdvsWithFlags) {
    const Bytes body = ByteBuilder{}
                           .u32(2 + 4)
                           .u8(3)
                           .u8(0x01)  // command, more fragments follow
                           .text("CMND")
                           .u32(2 + 3)
                           .u8(3)
                           .u8(0x02)  // data set, last fragment
                           .text("DAT")
                           .out;
    const std::vector<Pdv> pdvs = decode_p_data(body);
    ASSERT_EQ(pdvs.size(), 2u);

    EXPECT_EQ(pdvs[0].context_id, 3);
    EXPECT_TRUE(pdvs[0].is_command);
    EXPECT_FALSE(pdvs[0].is_last);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(pdvs[0].data.data()), pdvs[0].data.size()),
              "CMND");

    EXPECT_EQ(pdvs[1].context_id, 3);
    EXPECT_FALSE(pdvs[1].is_command);
    EXPECT_TRUE(pdvs[1].is_last);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(pdvs[1].data.data()), pdvs[1].data.size()),
              "DAT");
    // The fragments are views into the PDU body, not copies.
    EXPECT_EQ(pdvs[1].data.data(), body.data() + 4 + 2 + 4 + 4 + 2);
}

TEST(PduPData, EncodedPdvDecodesBack) {
    const Bytes data = text_bytes("dataset fragment");
    const Bytes pdu = encode_p_data(9, false, true, data);
    const std::vector<Pdv> pdvs = decode_p_data(body_of(pdu));
    ASSERT_EQ(pdvs.size(), 1u);
    EXPECT_EQ(pdvs[0].context_id, 9);
    EXPECT_FALSE(pdvs[0].is_command);
    EXPECT_TRUE(pdvs[0].is_last);
    EXPECT_EQ(Bytes(pdvs[0].data.begin(), pdvs[0].data.end()), data);
}

TEST(PduErrors, UnknownPduTypeIsUnrecognizedPdu) {
    for (int type : {0x00, 0x08, 0x10, 0xFF}) {
        const Bytes head = of({type, 0, 0, 0, 0, 4});
        EXPECT_EQ(abort_reason_of([&] { header_of(head); }), AbortReason::unrecognized_pdu)
            << "type " << type;
    }
}

// A 4 GB length is a well-formed header; refusing it is the association's job (max PDU).
TEST(PduErrors, HugeLengthDecodesAsLength) {
    const PduHeader header = header_of(of({0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF}));
    EXPECT_EQ(header.type, PduType::p_data);
    EXPECT_EQ(header.length, 0xFFFFFFFFu);
}

TEST(PduErrors, AssociateRqShorterThanFixedFields) {
    const Bytes pdu = encode(sample_rq());
    for (std::size_t cut : {0, 1, 10, 67}) {
        EXPECT_EQ(abort_reason_of([&] { decode_associate_rq(body_of(pdu).first(cut)); }),
                  AbortReason::invalid_pdu_parameter_value)
            << "body cut to " << cut << " bytes";
    }
}

// Cutting a valid RQ anywhere must give either a (shorter) valid RQ, when the cut falls on an
// item boundary, or a PduError; cuts inside an item header or value must be refused.
TEST(PduErrors, TruncatedItemsAreRefused) {
    const Bytes pdu = encode(sample_rq());
    const auto body = body_of(pdu);

    // Item boundaries in the variable part, found by walking the item headers.
    std::vector<std::size_t> boundaries{68};
    for (std::size_t at = 68; at < body.size();) {
        at += 4 + (std::size_t(body[at + 2]) << 8 | std::size_t(body[at + 3]));
        boundaries.push_back(at);
    }
    ASSERT_EQ(boundaries.back(), body.size());

    for (std::size_t cut = 68; cut < body.size(); ++cut) {
        const bool on_boundary =
            std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
        if (on_boundary) {
            EXPECT_NO_THROW(decode_associate_rq(body.first(cut))) << "cut at " << cut;
        } else {
            EXPECT_EQ(abort_reason_of([&] { decode_associate_rq(body.first(cut)); }),
                      AbortReason::invalid_pdu_parameter_value)
                << "cut at " << cut;
        }
    }
}

TEST(PduErrors, ItemLengthRunningPastThePdu) {
    Bytes pdu = encode(sample_rq());
    // The application context item starts right after the 68 fixed bytes of the body.
    const std::size_t item = kPduHeaderSize + 68;
    ASSERT_EQ(pdu[item], std::byte{0x10});
    pdu[item + 2] = std::byte{0xFF};
    pdu[item + 3] = std::byte{0xFF};
    EXPECT_EQ(abort_reason_of([&] { decode_associate_rq(body_of(pdu)); }),
              AbortReason::invalid_pdu_parameter_value);

    // The same inside a presentation context: a transfer syntax sub-item claiming 0x0100 bytes.
    const Bytes pc_value = ByteBuilder{}
                               .u8(1)
                               .zeros(3)
                               .item(0x30, text_bytes(kCtImageStorage))
                               .u8(0x40)
                               .u8(0)
                               .u16(0x0100)
                               .text(kImplicitLe)
                               .out;
    const Bytes body = ByteBuilder{}
                           .u16(1)
                           .zeros(2)
                           .text("COUNTYLINK      ")
                           .text("CT_TOWN01       ")
                           .zeros(32)
                           .item(0x10, text_bytes(kAppContext))
                           .item(0x20, pc_value)
                           .out;
    EXPECT_EQ(abort_reason_of([&] { decode_associate_rq(body); }),
              AbortReason::invalid_pdu_parameter_value);
}

TEST(PduErrors, MaximumLengthSubItemTooShort) {
    const Bytes body = ByteBuilder{}
                           .u16(1)
                           .zeros(2)
                           .text("COUNTYLINK      ")
                           .text("CT_TOWN01       ")
                           .zeros(32)
                           .item(0x10, text_bytes(kAppContext))
                           .item(0x50, ByteBuilder{}.item(0x51, of({0x00, 0x01})).out)
                           .out;
    EXPECT_EQ(abort_reason_of([&] { decode_associate_rq(body); }),
              AbortReason::invalid_pdu_parameter_value);
}

TEST(PduErrors, PdvShorterThanTwoBytes) {
    for (uint32_t length : {0u, 1u}) {
        const Bytes body = ByteBuilder{}.u32(length).u8(1).u8(0x03).out;
        EXPECT_EQ(abort_reason_of([&] { decode_p_data(body); }),
                  AbortReason::invalid_pdu_parameter_value)
            << "PDV length " << length;
    }
}

TEST(PduErrors, PdvLengthRunningPastThePdu) {
    // Second PDV claims 4 GB; the first is well formed.
    const Bytes body =
        ByteBuilder{}.u32(3).u8(1).u8(0x02).u8(0x55).u32(0xFFFFFFFF).u8(1).u8(0x00).out;
    EXPECT_EQ(abort_reason_of([&] { decode_p_data(body); }),
              AbortReason::invalid_pdu_parameter_value);
}

TEST(PduErrors, PDataWithoutPdvOrCutInsideLengthField) {
    EXPECT_EQ(abort_reason_of([] { decode_p_data({}); }), AbortReason::invalid_pdu_parameter_value);
    EXPECT_EQ(abort_reason_of([] {
                  decode_p_data(of({0x00, 0x00}));
              }),
              AbortReason::invalid_pdu_parameter_value);
}

TEST(PduErrors, ShortRjAndAbortBodies) {
    EXPECT_EQ(abort_reason_of([] {
                  decode_associate_rj(of({0x00, 0x01}));
              }),
              AbortReason::invalid_pdu_parameter_value);
    EXPECT_EQ(abort_reason_of([] {
                  decode_abort(of({0x00, 0x00, 0x02}));
              }),
              AbortReason::invalid_pdu_parameter_value);
}

}  // namespace
}  // namespace countylink::dicom
