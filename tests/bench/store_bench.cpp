// The store: blob put (hash, pre-filter, zstd, write, fsync, rename) and read back, and index
// inserts. On the default tmpfs scratch directory fsync costs nothing, so these are CPU figures;
// COUNTYLINK_BENCH_DIR=<dir on a disk> measures the same calls with the disk's fsync latency.
#include <benchmark/benchmark.h>

#include <algorithm>

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/ingest/instance_record.hpp"
#include "gateway/query/find.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/commitment.hpp"
#include "gateway/store/sqlite/sqlite_index.hpp"
#include "tests/bench/benchmarks.hpp"

namespace countylink::bench {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunk = 1 << 20;

int default_level() {
    return config::Config{}.storage.zstd_level;
}

// A new blob each time: the previous copy is removed untimed, else put() finds it and skips
// the rename (the duplicate path).
void blob_put(benchmark::State& state, const BenchObject& object, const fs::path& root) {
    store::BlobStore blobs(root, default_level());
    uint64_t stored = 0;
    for (auto _ : state) {
        const store::BlobRef ref = blobs.put(object.file, object.samples);
        stored = ref.stored_size;
        state.PauseTiming();
        fs::remove(blobs.path_of(ref.sha256));
        state.ResumeTiming();
    }
    count_items(state, object.bytes.size());
    state.counters["ratio"] =
        static_cast<double>(stored) / static_cast<double>(object.bytes.size());
}

// What a WADO or forwarding read costs: open, inflate, undo the pre-filter.
void blob_read(benchmark::State& state, const BenchObject& object, const fs::path& root) {
    store::BlobStore blobs(root, default_level());
    const std::string sha256 = blobs.put(object.file, object.samples).sha256;
    const auto out = std::make_unique_for_overwrite<std::byte[]>(kChunk);
    for (auto _ : state) {
        store::BlobReader reader = blobs.open(sha256);
        if (read_all(reader, {out.get(), kChunk}) != object.bytes.size()) {
            state.SkipWithError("read back a different size");
            break;
        }
    }
    count_items(state, object.bytes.size());
}

// The index row of `object` as the pipeline fills it, made unique by `n` (its own study, so each
// row also opens a worklist item, as a new DX exam does).
store::InstanceRecord record_of(const BenchObject& object, uint64_t n) {
    store::InstanceRecord r = ingest::record_of(object.report.ids);
    r.sop_instance_uid += "." + std::to_string(n);
    r.study_instance_uid += "." + std::to_string(n);
    r.series_instance_uid += "." + std::to_string(n);
    r.township = "westfield";
    r.calling_ae = "DX_WESTFIELD";
    r.received_at_ms = r.stored_at_ms = 1'790'000'000'000 + static_cast<int64_t>(n);
    r.raw_size = object.bytes.size();
    r.stored_size = object.bytes.size() / 2;
    r.sha256 = std::string(64, 'a');
    r.queues = {"radiology"};
    return r;
}

// One commit of `batch` new rows: group commit's transaction. The table grows as it runs.
void index_insert(benchmark::State& state, const BenchObject& object, const fs::path& dir,
                  std::size_t batch) {
    store::SqliteIndex index(dir / ("index-" + std::to_string(batch) + ".sqlite"));
    uint64_t n = index.instance_count();
    std::vector<store::InstanceRecord> records(batch);
    for (auto _ : state) {
        for (auto& r : records) r = record_of(object, n++);  // the pipeline builds rows too
        const auto outcomes = index.record_instances(records);
        if (outcomes.front() != store::RecordOutcome::stored) {
            state.SkipWithError("a new row was not stored");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));  // rows
    state.counters["rows_total"] = static_cast<double>(index.instance_count());
}

// A Storage Commitment request for a 2,000-slice CT study against an index of 20,000 rows: one
// index lookup per referenced instance, all held.
void commitment_decide(benchmark::State& state, const BenchObject& object, const fs::path& dir) {
    store::SqliteIndex index(dir / "commitment.sqlite");
    constexpr std::size_t kRows = 20000, kAsked = 2000;
    std::vector<store::InstanceRecord> records;
    for (std::size_t n = index.instance_count(); n < kRows; ++n) {
        records.push_back(record_of(object, n));
    }
    if (!records.empty()) index.record_instances(records);
    const std::string township = record_of(object, 0).township;
    codecs::dicom::CommitmentRequest request;
    request.transaction_uid = "2.25.1";
    for (std::size_t n = 0; n < kAsked; ++n) {
        const auto r = record_of(object, n * (kRows / kAsked));
        request.references.push_back({r.sop_class_uid, r.sop_instance_uid});
    }
    for (auto _ : state) {
        const auto report = store::decide_commitment(request, township, index);
        if (report.committed.size() != kAsked) {
            state.SkipWithError("an indexed instance was not committed");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kAsked));  // references
}

// Reading a 100,000-instance request (~10 MiB), what the 16 MiB limit allows: linear in size.
void commitment_parse(benchmark::State& state) {
    codecs::dicom::CommitmentReport request;  // a report's Referenced SOP Sequence is a request's
    request.transaction_uid = "2.25.1";
    for (int n = 0; n < 100000; ++n) {
        request.committed.push_back(
            {"1.2.840.10008.5.1.4.1.1.2", "1.2.826.0.1.3680043.10.1234.5." + std::to_string(n)});
    }
    const auto bytes = codecs::dicom::encode_commitment_report(request, "1.2.840.10008.1.2.1");
    for (auto _ : state) {
        const auto parsed = codecs::dicom::parse_commitment_request(bytes, "1.2.840.10008.1.2.1");
        if (parsed.references.size() != 100000) {
            state.SkipWithError("references lost");
            break;
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
    state.counters["request_bytes"] = static_cast<double>(bytes.size());
}

// C-FIND at STUDY level over an index of 100,000 instances (10,000 patients, one 10-instance
// study each, dates spread over a year): by Patient ID (10 rows) and by one Study Date (~270
// rows, 27 studies), what a reading station asks most.
void find_studies(benchmark::State& state, const BenchObject& object, const fs::path& dir,
                  uint32_t tag, const std::string& value, std::size_t expected) {
    store::SqliteIndex index(dir / "find.sqlite");
    constexpr std::size_t kRows = 100000;
    std::vector<store::InstanceRecord> records;
    for (std::size_t n = index.instance_count(); n < kRows; ++n) {
        store::InstanceRecord r = record_of(object, n);
        // Appended, not "P" + ...: GCC 12's -Wrestrict false positive on that form.
        r.study_instance_uid = "2.25.7.";
        r.study_instance_uid += std::to_string(n / 10);
        r.patient_id = "P";
        r.patient_id += std::to_string(n / 10);
        const std::size_t day = (n / 10) % 365;  // 31-day months: only the spread matters
        r.study_date = std::to_string(20260101 + day / 31 * 100 + day % 31);
        records.push_back(std::move(r));
    }
    if (!records.empty()) index.record_instances(records);
    codecs::dicom::QueryIdentifier identifier;
    identifier.keys = {{0x00080052, "CS", "STUDY", true},
                       {tag, tag == 0x00080020 ? "DA" : "LO", value, true},
                       {0x0020000D, "UI", "", true}};
    std::sort(identifier.keys.begin(), identifier.keys.end(),
              [](const auto& a, const auto& b) { return a.tag < b.tag; });
    const query::Visible all = [](const store::InstanceRecord&) { return true; };
    for (auto _ : state) {
        const auto answer = query::find(query::kStudyRootFind, identifier, index, all);
        if (answer.status != 0 || answer.matches.size() != expected) {
            state.SkipWithError("unexpected matches");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));  // queries
}

}  // namespace

void register_store_benchmarks(const Inputs& inputs) {
    const fs::path blobs = inputs.directory("blobs");
    for (const auto& object : inputs.objects()) {
        add("blob/put/" + object.kind,
            [&object, blobs](benchmark::State& s) { blob_put(s, object, blobs / "put"); });
        add("blob/read/" + object.kind,
            [&object, blobs](benchmark::State& s) { blob_read(s, object, blobs / "read"); });
    }
    const fs::path index = inputs.directory("index");
    for (const std::size_t batch : {1, 16}) {
        add("index/record_instances/batch:" + std::to_string(batch),
            [&inputs, index, batch](benchmark::State& s) {
                index_insert(s, inputs.dx(), index, batch);
            });
    }
    add("commitment/parse/100000", [](benchmark::State& s) { commitment_parse(s); });
    add("find/study_by_patient_id/of_100000", [&inputs, index](benchmark::State& s) {
        find_studies(s, inputs.dx(), index, 0x00100020, "P4242", 1);
    });
    add("find/studies_of_one_day/of_100000", [&inputs, index](benchmark::State& s) {
        std::size_t studies = 0;  // patients p with p % 365 == 2 * 31 + 4
        for (std::size_t p = 0; p < 10000; ++p) studies += p % 365 == 66;
        find_studies(s, inputs.dx(), index, 0x00080020, "20260305", studies);
    });
    add("commitment/decide/2000_of_20000",
        [&inputs, index](benchmark::State& s) { commitment_decide(s, inputs.dx(), index); });
}

}  // namespace countylink::bench
