#include "gateway/dicom/pdu.hpp"

#include <algorithm>

namespace countylink::dicom {
namespace {

constexpr std::size_t kAeFieldsEnd = 68;  // version, reserved, called, calling, 32 reserved

// Bounds-checked big-endian reader over a PDU body.
class Reader {
  public:
    explicit Reader(std::span<const std::byte> data) : data_(data) {}
    std::size_t remaining() const { return data_.size() - pos_; }
    bool empty() const { return remaining() == 0; }
    uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
    uint16_t u16() {
        auto b = take(2);
        return static_cast<uint16_t>(uint16_t(b[0]) << 8 | uint16_t(b[1]));
    }
    uint32_t u32() {
        auto b = take(4);
        return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | uint32_t(b[3]);
    }
    std::span<const std::byte> take(std::size_t n) {
        if (n > remaining()) {
            throw PduError(AbortReason::invalid_pdu_parameter_value,
                           "item length " + std::to_string(n) + " exceeds the " +
                               std::to_string(remaining()) + " bytes left in the PDU");
        }
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

  private:
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
};

// Builds one PDU: the 6-byte header is reserved up front and filled in by finish_pdu.
class Writer {
  public:
    Writer() : out_(kPduHeaderSize, std::byte{0}) {}
    void u8(uint8_t v) { out_.push_back(std::byte(v)); }
    void u16(uint16_t v) {
        u8(static_cast<uint8_t>(v >> 8));
        u8(static_cast<uint8_t>(v));
    }
    void u32(uint32_t v) {
        u16(static_cast<uint16_t>(v >> 16));
        u16(static_cast<uint16_t>(v));
    }
    void zeros(std::size_t n) { out_.insert(out_.end(), n, std::byte{0}); }
    void text(std::string_view s) {
        for (char c : s) u8(static_cast<uint8_t>(c));
    }
    void ae(std::string_view s) {  // 16 bytes, space padded
        text(s.substr(0, 16));
        for (std::size_t i = std::min<std::size_t>(s.size(), 16); i < 16; ++i) u8(' ');
    }
    // Starts an item with a 2-byte length, returns where to patch it.
    std::size_t begin_item(uint8_t type) {
        u8(type);
        u8(0);
        u16(0);
        return out_.size();
    }
    void end_item(std::size_t start) {
        const std::size_t len = out_.size() - start;
        if (len > 0xffff) throw std::length_error("PDU item longer than 65535 bytes");
        out_[start - 2] = std::byte(len >> 8);
        out_[start - 1] = std::byte(len & 0xff);
    }
    void uid_item(uint8_t type, std::string_view uid) {
        auto at = begin_item(type);
        text(uid);
        end_item(at);
    }
    void bytes(std::span<const std::byte> data) {
        out_.insert(out_.end(), data.begin(), data.end());
    }
    std::vector<std::byte> finish_pdu(PduType type) {
        const auto length = static_cast<uint32_t>(out_.size() - kPduHeaderSize);
        out_[0] = std::byte(static_cast<uint8_t>(type));
        for (int i = 0; i < 4; ++i) out_[2 + i] = std::byte((length >> (24 - 8 * i)) & 0xff);
        return std::move(out_);
    }

  private:
    std::vector<std::byte> out_;
};

std::string trimmed(std::span<const std::byte> raw) {
    std::string s(reinterpret_cast<const char*>(raw.data()), raw.size());
    const auto first = s.find_first_not_of(std::string_view(" \0", 2));
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(std::string_view(" \0", 2));
    return s.substr(first, last - first + 1);
}

UserInformation decode_user_information(Reader r) {
    UserInformation user;
    while (!r.empty()) {
        const uint8_t type = r.u8();
        r.u8();
        Reader item(r.take(r.u16()));
        switch (type) {
            case 0x51:
                user.max_pdu_length = item.u32();
                break;
            case 0x52:
                user.implementation_class_uid = trimmed(item.take(item.remaining()));
                break;
            case 0x54: {
                RoleSelection role;
                role.sop_class_uid = trimmed(item.take(item.u16()));
                role.scu = item.u8() != 0;
                role.scp = item.u8() != 0;
                user.roles.push_back(std::move(role));
                break;
            }
            case 0x55:
                user.implementation_version_name = trimmed(item.take(item.remaining()));
                break;
            default:  // async ops, extended negotiation, user identity
                break;
        }
    }
    return user;
}

void encode_user_information(Writer& w, const UserInformation& user) {
    auto ui = w.begin_item(0x50);
    auto ml = w.begin_item(0x51);
    w.u32(user.max_pdu_length);
    w.end_item(ml);
    w.uid_item(0x52, user.implementation_class_uid);
    for (const RoleSelection& role : user.roles) {
        auto item = w.begin_item(0x54);
        w.u16(static_cast<uint16_t>(role.sop_class_uid.size()));
        w.text(role.sop_class_uid);
        w.u8(role.scu ? 1 : 0);
        w.u8(role.scp ? 1 : 0);
        w.end_item(item);
    }
    if (!user.implementation_version_name.empty()) {
        w.uid_item(0x55, user.implementation_version_name);
    }
    w.end_item(ui);
}

// Shared by RQ and AC: the fixed part of an A-ASSOCIATE PDU.
template <typename Pdu>
void decode_fixed(Reader& r, Pdu& pdu) {
    if (r.remaining() < kAeFieldsEnd) {
        throw PduError(AbortReason::invalid_pdu_parameter_value, "A-ASSOCIATE PDU too short");
    }
    pdu.protocol_version = r.u16();
    r.take(2);
    pdu.called_ae = trimmed(r.take(16));
    pdu.calling_ae = trimmed(r.take(16));
    r.take(32);
}

template <typename Pdu>
void encode_fixed(Writer& w, const Pdu& pdu) {
    w.u16(pdu.protocol_version);
    w.zeros(2);
    w.ae(pdu.called_ae);
    w.ae(pdu.calling_ae);
    w.zeros(32);
}

}  // namespace

PduHeader decode_header(std::span<const std::byte, kPduHeaderSize> b) {
    const auto type = static_cast<uint8_t>(b[0]);
    if (type < 0x01 || type > 0x07) {
        throw PduError(AbortReason::unrecognized_pdu, "unknown PDU type 0x" + std::to_string(type));
    }
    const uint32_t length =
        uint32_t(b[2]) << 24 | uint32_t(b[3]) << 16 | uint32_t(b[4]) << 8 | uint32_t(b[5]);
    return {static_cast<PduType>(type), length};
}

AssociateRq decode_associate_rq(std::span<const std::byte> body) {
    Reader r(body);
    AssociateRq rq;
    decode_fixed(r, rq);
    while (!r.empty()) {
        const uint8_t type = r.u8();
        r.u8();
        Reader item(r.take(r.u16()));
        if (type == 0x10) {
            rq.application_context = trimmed(item.take(item.remaining()));
        } else if (type == 0x20) {
            PresentationContextRq pc;
            pc.id = item.u8();
            item.take(3);
            while (!item.empty()) {
                const uint8_t sub = item.u8();
                item.u8();
                auto value = trimmed(item.take(item.u16()));
                if (sub == 0x30) {
                    pc.abstract_syntax = std::move(value);
                } else if (sub == 0x40) {
                    pc.transfer_syntaxes.push_back(std::move(value));
                } else {
                    throw PduError(AbortReason::unrecognized_pdu_parameter,
                                   "unknown sub-item in presentation context");
                }
            }
            rq.contexts.push_back(std::move(pc));
        } else if (type == 0x50) {
            rq.user = decode_user_information(item);
        } else {
            throw PduError(AbortReason::unrecognized_pdu_parameter,
                           "unknown item type in A-ASSOCIATE-RQ");
        }
    }
    return rq;
}

AssociateAc decode_associate_ac(std::span<const std::byte> body) {
    Reader r(body);
    AssociateAc ac;
    decode_fixed(r, ac);
    while (!r.empty()) {
        const uint8_t type = r.u8();
        r.u8();
        Reader item(r.take(r.u16()));
        if (type == 0x10) {
            ac.application_context = trimmed(item.take(item.remaining()));
        } else if (type == 0x21) {
            PresentationContextAc pc;
            pc.id = item.u8();
            item.u8();
            pc.result = static_cast<ContextResult>(item.u8());
            item.u8();
            while (!item.empty()) {
                const uint8_t sub = item.u8();
                item.u8();
                auto value = trimmed(item.take(item.u16()));
                if (sub == 0x40) pc.transfer_syntax = std::move(value);
            }
            ac.contexts.push_back(std::move(pc));
        } else if (type == 0x50) {
            ac.user = decode_user_information(item);
        }
    }
    return ac;
}

AssociateRj decode_associate_rj(std::span<const std::byte> body) {
    Reader r(body);
    r.u8();
    AssociateRj rj;
    rj.result = r.u8();
    rj.source = r.u8();
    rj.reason = r.u8();
    return rj;
}

Abort decode_abort(std::span<const std::byte> body) {
    Reader r(body);
    r.take(2);
    Abort a;
    a.source = r.u8();
    a.reason = r.u8();
    return a;
}

std::vector<Pdv> decode_p_data(std::span<const std::byte> body) {
    Reader r(body);
    std::vector<Pdv> pdvs;
    while (!r.empty()) {
        const uint32_t length = r.u32();
        if (length < 2) {
            throw PduError(AbortReason::invalid_pdu_parameter_value, "PDV item shorter than 2");
        }
        Reader item(r.take(length));
        Pdv pdv;
        pdv.context_id = item.u8();
        const uint8_t header = item.u8();
        pdv.is_command = header & 0x01;
        pdv.is_last = header & 0x02;
        pdv.data = item.take(item.remaining());
        pdvs.push_back(pdv);
    }
    if (pdvs.empty()) {
        throw PduError(AbortReason::invalid_pdu_parameter_value, "P-DATA-TF without PDV");
    }
    return pdvs;
}

std::vector<std::byte> encode(const AssociateRq& rq) {
    Writer w;
    encode_fixed(w, rq);
    w.uid_item(0x10, rq.application_context);
    for (const auto& pc : rq.contexts) {
        auto at = w.begin_item(0x20);
        w.u8(pc.id);
        w.zeros(3);
        w.uid_item(0x30, pc.abstract_syntax);
        for (const auto& ts : pc.transfer_syntaxes) w.uid_item(0x40, ts);
        w.end_item(at);
    }
    encode_user_information(w, rq.user);
    return w.finish_pdu(PduType::associate_rq);
}

std::vector<std::byte> encode(const AssociateAc& ac) {
    Writer w;
    encode_fixed(w, ac);
    w.uid_item(0x10, ac.application_context);
    for (const auto& pc : ac.contexts) {
        auto at = w.begin_item(0x21);
        w.u8(pc.id);
        w.u8(0);
        w.u8(static_cast<uint8_t>(pc.result));
        w.u8(0);
        // PS3.8 9.3.3.2: the transfer syntax sub-item is present but not significant on refusal.
        w.uid_item(0x40, pc.transfer_syntax);
        w.end_item(at);
    }
    encode_user_information(w, ac.user);
    return w.finish_pdu(PduType::associate_ac);
}

std::vector<std::byte> encode(const AssociateRj& rj) {
    Writer w;
    w.u8(0);
    w.u8(rj.result);
    w.u8(rj.source);
    w.u8(rj.reason);
    return w.finish_pdu(PduType::associate_rj);
}

std::vector<std::byte> encode(const Abort& abort) {
    Writer w;
    w.zeros(2);
    w.u8(abort.source);
    w.u8(abort.reason);
    return w.finish_pdu(PduType::abort);
}

std::vector<std::byte> encode_release_rq() {
    Writer w;
    w.zeros(4);
    return w.finish_pdu(PduType::release_rq);
}

std::vector<std::byte> encode_release_rp() {
    Writer w;
    w.zeros(4);
    return w.finish_pdu(PduType::release_rp);
}

std::vector<std::byte> encode_p_data(uint8_t context_id, bool is_command, bool is_last,
                                     std::span<const std::byte> data) {
    Writer w;
    w.u32(static_cast<uint32_t>(data.size() + 2));
    w.u8(context_id);
    w.u8(static_cast<uint8_t>((is_command ? 0x01 : 0x00) | (is_last ? 0x02 : 0x00)));
    w.bytes(data);
    return w.finish_pdu(PduType::p_data);
}

std::vector<std::vector<std::byte>> encode_p_data_fragments(uint8_t context_id, bool is_command,
                                                            std::span<const std::byte> data,
                                                            uint32_t peer_max_pdu) {
    // The PDU length counts the PDV item: its 4-byte length, context id and header byte.
    constexpr std::size_t kCap = 1u << 20;  // keeps single PDUs modest for unlimited peers
    const std::size_t max_value =
        peer_max_pdu > 6 ? std::min<std::size_t>(peer_max_pdu - 6, kCap) : kCap;
    std::vector<std::vector<std::byte>> pdus;
    do {
        const std::size_t n = std::min(data.size(), max_value);
        pdus.push_back(encode_p_data(context_id, is_command, n == data.size(), data.first(n)));
        data = data.subspan(n);
    } while (!data.empty());
    return pdus;
}

}  // namespace countylink::dicom
