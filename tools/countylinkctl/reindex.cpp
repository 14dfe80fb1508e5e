#include "tools/countylinkctl/reindex.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "codecs/dicom/dataset_check.hpp"
#include "codecs/dicom/sop_classes.hpp"
#include "codecs/ecg/read.hpp"
#include "codecs/ecg/to_dicom.hpp"
#include "codecs/io/file.hpp"
#include "codecs/io/sha256.hpp"
#include "gateway/http/ecg_api.hpp"
#include "gateway/ingest/ecg_gate.hpp"
#include "gateway/ingest/instance_record.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/data_directory_lock.hpp"
#include "gateway/store/sqlite/sqlite_index.hpp"

namespace countylink::ctl {
namespace fs = std::filesystem;
namespace cd = codecs::dicom;

namespace {

constexpr const char* kWho = "reindexed";
constexpr std::size_t kBatch = 256;

// Decompresses the blob into `file` and returns the SHA-256 (hex) of what came out.
std::string unpack(store::BlobStore& blobs, const std::string& sha256, const fs::path& file,
                   uint64_t& size) {
    store::BlobReader reader = blobs.open(sha256);
    io::UniqueFd out = io::open_file(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    io::Sha256 sha;
    std::vector<std::byte> chunk(1 << 20);
    size = 0;
    for (std::size_t n; (n = reader.read(chunk)) > 0; size += n) {
        sha.feed({chunk.data(), n});
        io::write_all(out.get(), {chunk.data(), n});
    }
    return sha.hex_digest();
}

// The quality gate's record for a waveform object, judged again as it was at upload: from the
// original file when the object is the conversion of an uploaded one (the original then linked
// again, for the waveform view), else from the object. Shipped gate settings.
store::EcgRecord ecg_record_of(store::BlobStore& blobs, const fs::path& object,
                               const std::string* original) {
    const codecs::ecg::QualityParams params;
    if (original) {
        try {
            const auto bytes = store::read_all(blobs.open(*original), http::kMaxEcgUploadBytes);
            const codecs::ecg::ParseResult parsed = codecs::ecg::read_ecg(bytes);
            if (parsed.ok()) {
                store::EcgRecord r = ingest::assess_waveform(*parsed.waveform, params).record;
                r.original_sha256 = *original;
                r.original_size = bytes.size();
                return r;
            }
        } catch (const std::exception&) {
            // An original we cannot read does not keep its object out: judged from the object,
            // the original stays unknown and is listed at the end.
        }
    }
    return ingest::assess_dicom_file(object, params).record;
}

int64_t file_time_ms(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

}  // namespace

int reindex(const fs::path& data, bool dry_run, std::ostream& out, std::ostream& progress) {
    if (!fs::is_directory(data / "blobs")) {
        progress << "countylinkctl: no blobs/ in " << data.string()
                 << "; pass the gateway's data directory with --data-dir\n";
        return 1;
    }
    const store::DataDirectoryLock lock(data, "countylinkctl reindex");
    store::SqliteIndex index(data / "index.sqlite");
    store::BlobStore blobs(data / "blobs", 3);
    const store::BlobStore::Census census = blobs.census(index.referenced_blobs());
    std::vector<fs::path> unknown;
    for (const auto& path : census.unknown) {
        if (path.extension() == ".zst") unknown.push_back(path);
    }
    progress << census.known << " blobs indexed, " << unknown.size() << " not"
             << (unknown.empty() ? ": nothing to do\n" : "; reading them\n");
    fs::create_directories(data / "spool");
    const fs::path scratch = data / "spool" / "reindex.dcm";
    // An uploaded ECG's DICOM conversion has a UID derived from the original's SHA-256, which
    // names the original's blob: so an unknown blob is the original of the object whose UID
    // its name derives.
    std::map<std::string, std::string> original_of;  // derived instance UID -> blob name
    for (const auto& path : unknown) {
        original_of.emplace(codecs::ecg::derived_uid(path.stem().string(), "instance"),
                            path.stem().string());
    }
    std::set<std::string> linked;                             // originals found a home
    std::vector<std::pair<fs::path, std::string>> not_dicom;  // and why, until the end
    std::vector<store::InstanceRecord> batch;
    std::size_t recorded = 0, already = 0, unreadable = 0, done = 0;
    const auto flush = [&] {
        if (!dry_run && !batch.empty()) index.record_instances(batch);
        recorded += batch.size();
        batch.clear();
    };
    for (const auto& path : unknown) {
        const std::string name = path.stem().string();
        try {
            uint64_t size = 0;
            if (unpack(blobs, name, scratch, size) != name) {
                throw std::runtime_error("its bytes do not match its name (damaged)");
            }
            const cd::CheckReport report = cd::check_part10_file(scratch, {}, {});
            const auto& ids = report.ids;
            if (!cd::is_valid_uid(ids.sop_instance_uid)) {
                not_dicom.emplace_back(path, "no usable SOP Instance UID in it (not DICOM)");
                continue;
            }
            if (index.latest_instance(ids.sop_instance_uid)) {
                ++already;  // an indexed version exists: which is newer is not ours to guess
            } else {
                store::InstanceRecord r = ingest::record_of(ids);
                r.township = kWho;
                r.calling_ae = kWho;
                r.received_at_ms = r.stored_at_ms = file_time_ms(path);
                r.raw_size = size;
                r.stored_size = fs::file_size(path);
                r.sha256 = name;
                r.flags = kWho;
                if (cd::is_ecg_sop_class(ids.sop_class_uid)) {
                    const auto original = original_of.find(ids.sop_instance_uid);
                    const bool has = original != original_of.end();
                    r.ecg = ecg_record_of(blobs, scratch, has ? &original->second : nullptr);
                    if (!r.ecg->original_sha256.empty()) linked.insert(r.ecg->original_sha256);
                }
                batch.push_back(std::move(r));
                if (batch.size() == kBatch) flush();
            }
        } catch (const std::exception& e) {
            ++unreadable;
            progress << "not indexed: " << path.string() << ": " << e.what() << "\n";
        }
        if (++done % 500 == 0) progress << done << "/" << unknown.size() << " read\n";
    }
    flush();
    std::error_code ec;
    fs::remove(scratch, ec);
    for (const auto& [path, why] : not_dicom) {
        if (linked.contains(path.stem().string())) continue;
        ++unreadable;
        progress << "not indexed: " << path.string() << ": " << why << "\n";
    }
    out << (dry_run ? "would index " : "indexed ") << recorded << " instances (" << linked.size()
        << " with the original ECG file they were converted from); " << already
        << " already indexed under their UID (left as they are); " << unreadable
        << " could not be read (listed above, kept)\n";
    return unreadable == 0 ? 0 : 1;
}

int backfill(const fs::path& data, bool dry_run, std::ostream& out, std::ostream& progress) {
    if (!fs::is_regular_file(data / "index.sqlite")) {
        progress << "countylinkctl: no index.sqlite in " << data.string()
                 << "; pass the gateway's data directory with --data-dir\n";
        return 1;
    }
    const store::DataDirectoryLock lock(data, "countylinkctl backfill");
    store::SqliteIndex index(data / "index.sqlite");
    store::BlobStore blobs(data / "blobs", 3);
    const std::vector<store::InstanceRow> rows = index.rows_without_viewer_attributes();
    progress << rows.size() << " instances without the attributes viewers list"
             << (rows.empty() ? ": nothing to do\n" : "; reading their blobs\n");
    fs::create_directories(data / "spool");
    const fs::path scratch = data / "spool" / "backfill.dcm";
    std::vector<store::InstanceRow> batch;
    std::size_t filled = 0, unreadable = 0, done = 0;
    const auto flush = [&] {
        if (!dry_run && !batch.empty()) index.set_viewer_attributes(batch);
        filled += batch.size();
        batch.clear();
    };
    for (const auto& row : rows) {
        try {
            uint64_t size = 0;
            if (unpack(blobs, row.record.sha256, scratch, size) != row.record.sha256) {
                throw std::runtime_error("its bytes do not match its name (damaged)");
            }
            const store::InstanceRecord read =
                ingest::record_of(cd::check_part10_file(scratch, {}, {}).ids);
            store::InstanceRow updated = row;
            for (const auto& [name, field] : store::kViewerAttributes) {
                updated.record.*field = read.*field;
            }
            batch.push_back(std::move(updated));
            if (batch.size() == kBatch) flush();
        } catch (const std::exception& e) {
            ++unreadable;
            progress << "not filled: " << row.record.sop_instance_uid << " (blob "
                     << row.record.sha256 << "): " << e.what() << "\n";
        }
        if (++done % 500 == 0) progress << done << "/" << rows.size() << " read\n";
    }
    flush();
    std::error_code ec;
    fs::remove(scratch, ec);
    out << (dry_run ? "would fill " : "filled ") << filled << " instances; " << unreadable
        << " could not be read (listed above, left as they were)\n";
    return unreadable == 0 ? 0 : 1;
}

}  // namespace countylink::ctl
