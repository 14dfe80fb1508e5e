// The index: what is stored, where, and what was refused. One interface, implemented for
// SQLite (store/sqlite/) and, later, PostgreSQL; the pipeline and HTTP talk only to this.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countylink::store {

// What the ECG quality gate said of a waveform object, and where the file as uploaded is kept
// when it was not DICOM (the stored instance is then our DICOM conversion of it).
struct EcgRecord {
    std::string format;                 // codecs::ecg::format_name of the file as received
    std::string original_sha256;        // blob of the non-DICOM original; empty for DICOM
    std::string original_content_type;  // as uploaded; empty for DICOM
    uint64_t original_size = 0;
    std::string verdict;        // "acceptable" / "unacceptable"
    std::string findings_json;  // [{"code","lead","reason"}...]
    double heart_rate_bpm = 0;
    double sample_rate_hz = 0;
    double duration_s = 0;
    int leads = 0;
};

struct InstanceRecord {
    std::string sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid;
    std::string patient_id, patient_name, modality, study_date, accession_number;
    std::string transfer_syntax_uid;
    std::string township, calling_ae;
    int64_t received_at_ms = 0;  // Unix epoch milliseconds
    int64_t stored_at_ms = 0;
    uint64_t raw_size = 0, stored_size = 0;
    std::string sha256;  // of the Part-10 bytes; names the blob
    std::string flags;   // comma-separated non-fatal finding codes
    // What readers see: in the worklist item the instance joins (see gateway/route), and in
    // viewers' queries (C-FIND, QIDO-RS).
    std::string study_time, study_description, body_part;
    std::string study_id, patient_birth_date, patient_sex;
    std::string series_number, series_description, instance_number;
    std::vector<std::string> queues;   // reading queues it goes to; empty: none
    std::vector<std::string> forward;  // forward destinations it is sent on to; empty: none
    int priority = 2;                  // config::Priority: 0 STAT, 1 urgent, 2 routine
    bool immediate = false;            // a worklist item at once (ECG), not after stable_after
    std::optional<EcgRecord> ecg;      // waveform objects: the quality gate's verdict
};

// The attributes viewers list (C-FIND, QIDO-RS) that the index keeps since schema 1, each
// named as its column: the ones a backfill reads again for older rows.
inline constexpr std::pair<std::string_view, std::string InstanceRecord::*> kViewerAttributes[] = {
    {"study_time", &InstanceRecord::study_time},
    {"study_description", &InstanceRecord::study_description},
    {"body_part", &InstanceRecord::body_part},
    {"study_id", &InstanceRecord::study_id},
    {"patient_birth_date", &InstanceRecord::patient_birth_date},
    {"patient_sex", &InstanceRecord::patient_sex},
    {"series_number", &InstanceRecord::series_number},
    {"series_description", &InstanceRecord::series_description},
    {"instance_number", &InstanceRecord::instance_number}};

enum class RecordOutcome {
    stored,       // first copy of this SOP Instance UID
    duplicate,    // same UID, same bytes as its latest version: nothing new
    new_version,  // same UID, bytes other than the latest: a new version, flagged
};

struct InstanceRow {
    InstanceRecord record;
    int version = 1;
};

struct QuarantineRecord {
    std::string file;  // path under <data>/quarantine, relative
    std::string sop_instance_uid, sop_class_uid;
    std::string township, calling_ae;
    int64_t received_at_ms = 0;
    uint16_t status = 0;
    std::string finding;  // code of the finding that made it fatal
    std::string reason;
    uint64_t size = 0;
};

struct QuarantineRow {
    int64_t id = 0;
    QuarantineRecord record;
};

// How much one township has sent, for status screens.
struct TownshipSummary {
    std::string township;
    uint64_t instances = 0;
    int64_t last_received_ms = 0;
};

// A QIDO-style search over the latest version of every instance. Empty fields match anything;
// study_date may be a DICOM range ("20260101-20261231", "-20261231", "20260101-").
struct InstanceQuery {
    std::string patient_id, study_date, modality, accession_number;
    std::string study_instance_uid, series_instance_uid, sop_instance_uid;
    std::size_t limit = 10000;  // rows of instances (the HTTP layer pages studies/series)
};

// A study the county is done with (see Index::purgeable_studies).
struct PurgeCandidate {
    std::string study_instance_uid;
    std::string township;    // of its latest instance
    uint64_t instances = 0;  // rows, all versions
    uint64_t stored_bytes = 0;
    int64_t last_stored_ms = 0;
};

// Studies stored before a cutoff that purge leaves alone, and why.
struct PurgeHolds {
    uint64_t undelivered = 0;  // a forward copy pending or dead-lettered
    uint64_t unread = 0;       // a worklist item not reported, or given instances since
    uint64_t shared = 0;       // an object also stored under another study
};

class Index {
  public:
    virtual ~Index() = default;

    // Records instances in one transaction (group commit calls this with a batch), and in the
    // same transaction adds each new instance to the worklist items of its queues, so an
    // acknowledged object is never missing from (or twice in) a queue. Returns one outcome per
    // record, in order. Throws on database errors: then nothing was recorded.
    virtual std::vector<RecordOutcome> record_instances(std::span<const InstanceRecord> batch) = 0;

    // The latest version of an instance, if any.
    virtual std::optional<InstanceRow> latest_instance(const std::string& sop_instance_uid) = 0;

    // Records a refused object kept in quarantine; durable when it returns.
    virtual void record_quarantine(const QuarantineRecord& record) = 0;

    // Quarantined objects, newest first.
    virtual std::vector<QuarantineRow> quarantine(std::size_t limit) = 0;

    // Forgets a quarantine entry (purge, once its file is removed).
    virtual void remove_quarantine(int64_t id) = 0;

    // The quality record of the latest version of an ECG instance, if it has one.
    virtual std::optional<EcgRecord> ecg_record(const std::string& sop_instance_uid) = 0;

    // Every blob name (sha256) the index refers to: recovery keeps these and removes the rest.
    virtual std::vector<std::string> referenced_blobs() = 0;

    // Latest versions of the instances matching `query`, by study, series and instance UID.
    virtual std::vector<InstanceRow> find_instances(const InstanceQuery& query) = 0;

    // Instances and last arrival per township, busiest first.
    virtual std::vector<TownshipSummary> townships() = 0;

    // Number of instance rows (all versions).
    virtual uint64_t instance_count() = 0;

    // Studies whose every instance (all versions) was stored before `stored_before_ms`, with
    // every forward copy delivered, every worklist item reported since its last instance, and
    // no object also under another study: oldest first.
    virtual std::vector<PurgeCandidate> purgeable_studies(int64_t stored_before_ms) = 0;

    // Studies stored before the cutoff that are not purgeable, counted by reason.
    virtual PurgeHolds purge_holds(int64_t stored_before_ms) = 0;

    // Deletes a study's instances, ECG records, forward history and worklist links (the items,
    // with the readers' reports, stay) in one transaction if it is still purgeable; returns the
    // blobs no row refers to any more (the caller removes them), or nullopt (nothing deleted)
    // when it is not purgeable now.
    virtual std::optional<std::vector<std::string>> purge_study(const std::string& study_uid,
                                                                int64_t stored_before_ms) = 0;

    // Ingest names a blob while its row commits (GroupCommit), so a crash in between can leave
    // rows whose blob never became durable; they were never acknowledged. Takes them out, with
    // their forward items, ECG records and worklist links (items nobody claimed or reported that
    // are left empty go too). Returns the instance rows removed.
    virtual std::size_t forget_blobs(const std::vector<std::string>& sha256s) = 0;

    // Takes back the latest version of `sop_instance_uid` if it names `sha256` (a commit whose
    // blob failed to publish), with what forget_blobs takes along. Returns whether it did.
    virtual bool forget_instance(const std::string& sop_instance_uid,
                                 const std::string& sha256) = 0;

    // Instance rows with none of the attributes viewers list (study time ... instance number):
    // rows stored before the index kept them (schema 1), for `countylinkctl backfill`.
    virtual std::vector<InstanceRow> rows_without_viewer_attributes() = 0;

    // Sets those attributes of each row (by SOP Instance UID and version) from its record, in
    // one transaction.
    virtual void set_viewer_attributes(std::span<const InstanceRow> rows) = 0;
};

}  // namespace countylink::store
