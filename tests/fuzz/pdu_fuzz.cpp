// PDU decoding as the association does it (header, then the body the header announces), and
// for an A-ASSOCIATE-RQ the negotiation and our answer, which must decode again.
#include <cstdio>
#include <variant>

#include "config/config.hpp"
#include "gateway/dicom/negotiation.hpp"
#include "gateway/dicom/pdu.hpp"
#include "tests/fuzz/targets.hpp"

namespace countylink::fuzz {
namespace {

// A production-like config: unregistered callers refused, one township with two AE titles.
config::Config strict_config() {
    return config::parse_toml(
        "[dicom]\naccept_unregistered = false\n"
        "[[townships]]\nname = \"Dongshan\"\nae_titles = [\"DONGSHAN_CT\", \"STORESCU\"]\n");
}

void answer_must_decode(const std::variant<dicom::Accepted, dicom::Rejected>& decision) {
    if (const auto* accepted = std::get_if<dicom::Accepted>(&decision)) {
        const auto ac = dicom::encode(accepted->ac);
        const auto back = dicom::decode_associate_ac(std::span(ac).subspan(dicom::kPduHeaderSize));
        if (back.contexts.size() != accepted->ac.contexts.size()) fail("A-ASSOCIATE-AC round trip");
    } else {
        const auto rj = dicom::encode(std::get<dicom::Rejected>(decision).rj);
        (void)dicom::decode_associate_rj(std::span(rj).subspan(dicom::kPduHeaderSize));
    }
}

}  // namespace

int pdu(std::span<const std::byte> input) {
    static const config::Config open = config::embedded_default();
    static const config::Config strict = strict_config();
    if (input.size() < dicom::kPduHeaderSize) return 0;
    try {
        const auto header = dicom::decode_header(input.first<dicom::kPduHeaderSize>());
        auto body = input.subspan(dicom::kPduHeaderSize);
        if (header.length < body.size()) body = body.first(header.length);
        switch (header.type) {
            case dicom::PduType::associate_rq: {
                const auto rq = dicom::decode_associate_rq(body);
                // The reserved byte picks the config, so both policies get explored.
                const bool use_strict = (static_cast<uint8_t>(input[1]) & 1) != 0;
                answer_must_decode(dicom::negotiate(rq, use_strict ? strict : open));
                break;
            }
            case dicom::PduType::associate_ac:
                (void)dicom::decode_associate_ac(body);
                break;
            case dicom::PduType::associate_rj:
                (void)dicom::decode_associate_rj(body);
                break;
            case dicom::PduType::p_data:
                for (const auto& pdv : dicom::decode_p_data(body)) {
                    if (pdv.data.data() < body.data() ||
                        pdv.data.data() + pdv.data.size() > body.data() + body.size()) {
                        fail("PDV outside its PDU");
                    }
                }
                break;
            case dicom::PduType::abort:
                (void)dicom::decode_abort(body);
                break;
            case dicom::PduType::release_rq:
            case dicom::PduType::release_rp:
                break;
        }
    } catch (const dicom::PduError&) {
        // Expected: the association answers it with an A-ABORT.
    }
    return 0;
}

}  // namespace countylink::fuzz
