// Everything an accepted C-STORE costs in CPU on the gateway, in the order the server does it:
// decode the command, receive the PDUs into a spool file, validate it, run the ECG quality gate
// on a waveform, find its samples, put the blob (hash, pre-filter, compress, write), encode the
// response. Not included: the socket, the index commit (shared by a group-commit batch: see
// index/record_instances) and fsync latency. Items/s is the bound on objects/s per core.
#include <benchmark/benchmark.h>

#include "codecs/dicom/part10.hpp"
#include "codecs/dicom/sop_classes.hpp"
#include "config/config.hpp"
#include "gateway/dicom/dimse.hpp"
#include "gateway/ingest/ecg_gate.hpp"
#include "gateway/store/blob_store.hpp"
#include "tests/bench/benchmarks.hpp"
#include "tests/bench/receive.hpp"

namespace countylink::bench {
namespace {

namespace fs = std::filesystem;
namespace cd = codecs::dicom;

void ingest(benchmark::State& state, const BenchObject& object, const fs::path& dir,
            const std::set<std::string>& fatal_codes) {
    const config::Config defaults;
    const auto& ids = object.report.ids;
    const auto command = dicom::encode_command(store_request(object));
    const PduStream stream = frame_dataset(std::span(object.bytes).subspan(object.dataset_offset),
                                           defaults.dicom.max_pdu_bytes);
    store::BlobStore blobs(dir / "blobs", defaults.storage.zstd_level);
    const fs::path spool_dir = dir / "spool";
    fs::create_directories(spool_dir);
    ingest::Spool spool_files(spool_dir);

    for (auto _ : state) {
        const dicom::Command cmd = dicom::decode_command(command);
        const auto spool = receive(
            stream.bytes, spool_files,
            {cmd.affected_sop_class_uid, cmd.affected_sop_instance_uid, ids.transfer_syntax_uid});
        const auto report = cd::check_part10_file(
            spool.path(), {cmd.affected_sop_class_uid, cmd.affected_sop_instance_uid}, fatal_codes);
        if (report.fatal || !report.samples) {
            state.SkipWithError("the spooled object was refused or has no samples");
            break;
        }
        if (cd::is_ecg_sop_class(report.ids.sop_class_uid)) {
            const auto assessment =
                ingest::assess_dicom_file(spool.path(), codecs::ecg::QualityParams{});
            benchmark::DoNotOptimize(assessment.record.verdict.data());
        }
        const auto samples = cd::locate_samples(spool.path(), *report.samples);
        const store::BlobRef ref = blobs.put(spool.path(), samples);
        const auto response =
            dicom::encode_command(dicom::make_response(cmd, dicom::status::success));
        benchmark::DoNotOptimize(response.data());
        state.PauseTiming();
        fs::remove(blobs.path_of(ref.sha256));  // else the next put takes the duplicate path
        state.ResumeTiming();
    }
    count_items(state, object.bytes.size());
}

}  // namespace

void register_ingest_benchmarks(const Inputs& inputs) {
    for (const auto& object : inputs.objects()) {
        const fs::path dir = inputs.directory("ingest-" + object.kind);
        add("ingest/c_store_cpu/" + object.kind, [&object, dir, &inputs](benchmark::State& s) {
            ingest(s, object, dir, inputs.fatal_codes());
        });
    }
}

}  // namespace countylink::bench
