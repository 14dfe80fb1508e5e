// P-DATA-TF framing. Senders split a dataset into PDUs no larger than we announce (262144 by
// default) and may use smaller ones; 16384 is DCMTK's default maximum, so both are measured.
#include <benchmark/benchmark.h>

#include <string>

#include "config/config.hpp"
#include "gateway/dicom/pdu.hpp"
#include "tests/bench/benchmarks.hpp"
#include "tests/bench/receive.hpp"

namespace countylink::bench {
namespace {

constexpr std::size_t kStorescuPdu = 16384;

std::span<const std::byte> dataset_of(const BenchObject& object) {
    return std::span(object.bytes).subspan(object.dataset_offset);
}

// Header and PDV decoding alone: the parser's own cost per object.
void decode_p_data(benchmark::State& state, const BenchObject& object, std::size_t max_pdu) {
    const PduStream stream = frame_dataset(dataset_of(object), max_pdu);
    for (auto _ : state) {
        std::span<const std::byte> rest(stream.bytes);
        std::size_t payload = 0;
        while (!rest.empty()) {
            const auto header = dicom::decode_header(rest.first<dicom::kPduHeaderSize>());
            const auto body = rest.subspan(dicom::kPduHeaderSize, header.length);
            for (const auto& pdv : dicom::decode_p_data(body)) payload += pdv.data.size();
            rest = rest.subspan(dicom::kPduHeaderSize + header.length);
        }
        benchmark::DoNotOptimize(payload);
    }
    count_items(state, stream.bytes.size());
    state.counters["pdus"] = static_cast<double>(stream.pdus);
}

// What the association does per object: decode every PDU and spool its fragments to a file.
void receive_to_spool(benchmark::State& state, const BenchObject& object, std::size_t max_pdu,
                      const std::filesystem::path& spool_dir) {
    const PduStream stream = frame_dataset(dataset_of(object), max_pdu);
    const codecs::dicom::MetaInfo meta{object.report.ids.sop_class_uid,
                                       object.report.ids.sop_instance_uid,
                                       object.report.ids.transfer_syntax_uid};
    ingest::Spool spool_files(spool_dir);  // files reused from object to object, as the server does
    for (auto _ : state) {
        const auto spool = receive(stream.bytes, spool_files, meta);
        benchmark::DoNotOptimize(spool.size());
    }
    count_items(state, stream.bytes.size());
}

// The sending side (forwarding, store_scu): one PDU per fragment.
void encode_p_data(benchmark::State& state, const BenchObject& object, std::size_t max_pdu) {
    const auto dataset = dataset_of(object);
    const std::size_t chunk = max_pdu - kPdvOverhead;
    for (auto _ : state) {
        for (std::size_t at = 0; at < dataset.size(); at += chunk) {
            const std::size_t n = std::min(chunk, dataset.size() - at);
            auto pdu =
                dicom::encode_p_data(1, false, at + n == dataset.size(), dataset.subspan(at, n));
            benchmark::DoNotOptimize(pdu.data());
        }
    }
    count_items(state, dataset.size());
}

// A modality's association request: 24 storage SOP classes, three transfer syntaxes each.
dicom::AssociateRq modality_request() {
    dicom::AssociateRq rq;
    rq.called_ae = "COUNTYLINK";
    rq.calling_ae = "CT_WESTFIELD";
    rq.application_context = "1.2.840.10008.3.1.1.1";
    for (uint8_t i = 0; i < 24; ++i) {
        dicom::PresentationContextRq pc;
        pc.id = static_cast<uint8_t>(2 * i + 1);
        pc.abstract_syntax = "1.2.840.10008.5.1.4.1.1." + std::to_string(i + 1);
        pc.transfer_syntaxes = {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2",
                                "1.2.840.10008.1.2.4.70"};
        rq.contexts.push_back(pc);
    }
    rq.user.max_pdu_length = kStorescuPdu;
    rq.user.implementation_class_uid = "1.2.276.0.7230010.3.0.3.6.7";
    rq.user.implementation_version_name = "OFFIS_DCMTK_367";
    return rq;
}

void decode_associate_rq(benchmark::State& state) {
    const auto pdu = dicom::encode(modality_request());
    const auto body = std::span(pdu).subspan(dicom::kPduHeaderSize);
    for (auto _ : state) {
        auto rq = dicom::decode_associate_rq(body);
        benchmark::DoNotOptimize(rq.contexts.data());
    }
    count_items(state, pdu.size());  // association requests
}

}  // namespace

void register_pdu_benchmarks(const Inputs& inputs) {
    const std::size_t our_pdu = config::Config{}.dicom.max_pdu_bytes;
    const auto spool_dir = inputs.directory("spool");
    for (const auto& object : inputs.objects()) {
        for (const std::size_t max_pdu : {kStorescuPdu, our_pdu}) {
            const std::string suffix = object.kind + "/pdu:" + std::to_string(max_pdu);
            add("pdu/decode_p_data/" + suffix,
                [&object, max_pdu](benchmark::State& s) { decode_p_data(s, object, max_pdu); });
            add("pdu/receive_to_spool/" + suffix,
                [&object, max_pdu, spool_dir](benchmark::State& s) {
                    receive_to_spool(s, object, max_pdu, spool_dir);
                });
        }
    }
    add("pdu/encode_p_data/dx/pdu:16384",
        [&inputs](benchmark::State& s) { encode_p_data(s, inputs.dx(), kStorescuPdu); });
    add("pdu/decode_associate_rq/24x3", decode_associate_rq);
}

}  // namespace countylink::bench
