#include "gateway/store/sqlite/sqlite_index.hpp"

#include <sqlite3.h>

#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gateway/store/sqlite/database.hpp"

namespace countylink::store {
namespace {

using sqlite::Statement;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS instances (
    id INTEGER PRIMARY KEY,
    sop_instance_uid TEXT NOT NULL,
    version INTEGER NOT NULL,
    sop_class_uid TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    modality TEXT NOT NULL,
    study_date TEXT NOT NULL,
    accession_number TEXT NOT NULL,
    transfer_syntax_uid TEXT NOT NULL,
    township TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    stored_at_ms INTEGER NOT NULL,
    raw_size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    flags TEXT NOT NULL,
    UNIQUE (sop_instance_uid, version)
);
CREATE INDEX IF NOT EXISTS instances_study ON instances (study_instance_uid);
CREATE INDEX IF NOT EXISTS instances_sha ON instances (sha256);
-- What viewers query by (C-FIND, QIDO-RS): one patient, or the studies of a day.
CREATE INDEX IF NOT EXISTS instances_patient ON instances (patient_id);
CREATE INDEX IF NOT EXISTS instances_date ON instances (study_date);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    study_key TEXT NOT NULL,
    study_instance_uid TEXT NOT NULL,
    township TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    modality TEXT NOT NULL,
    body_part TEXT NOT NULL,
    description TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    priority INTEGER NOT NULL,
    instance_count INTEGER NOT NULL DEFAULT 0,
    received_at_ms INTEGER NOT NULL,
    last_instance_ms INTEGER NOT NULL,
    queued_at_ms INTEGER,
    state TEXT NOT NULL,
    claimed_by TEXT,
    lease_until_ms INTEGER,
    claimed_at_ms INTEGER,
    reported_at_ms INTEGER,
    result_text TEXT,
    result_code TEXT,
    updated INTEGER NOT NULL DEFAULT 0,
    UNIQUE (queue, study_key)
);
CREATE INDEX IF NOT EXISTS items_order ON items (queue, state, priority, queued_at_ms, id);
CREATE INDEX IF NOT EXISTS items_study ON items (study_instance_uid);
CREATE TABLE IF NOT EXISTS item_instances (
    item_id INTEGER NOT NULL REFERENCES items(id),
    sop_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    PRIMARY KEY (item_id, sop_instance_uid)
);
CREATE TABLE IF NOT EXISTS forward_items (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    transfer_syntax_uid TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    priority INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    delivered_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    UNIQUE (destination, sop_instance_uid, sha256)
);
CREATE INDEX IF NOT EXISTS forward_due ON forward_items (destination, state, priority,
                                                          created_ms);
CREATE INDEX IF NOT EXISTS forward_instance ON forward_items (sop_instance_uid);
CREATE TABLE IF NOT EXISTS ecg_records (
    sop_instance_uid TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    original_sha256 TEXT NOT NULL,
    original_content_type TEXT NOT NULL,
    original_size INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    findings TEXT NOT NULL,
    heart_rate_bpm REAL NOT NULL,
    sample_rate_hz REAL NOT NULL,
    duration_s REAL NOT NULL,
    leads INTEGER NOT NULL,
    PRIMARY KEY (sop_instance_uid, sha256)
);
CREATE INDEX IF NOT EXISTS ecg_original ON ecg_records (original_sha256);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    township TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    status INTEGER NOT NULL,
    finding TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL
);
)sql";

// kSchema is version 0 (PRAGMA user_version); each step takes the database one version up,
// in one transaction, so an index written by an older CountyLink opens in a newer one.
constexpr const char* kMigrations[] = {
    // 1: what viewers list (C-FIND, QIDO-RS). Rows stored before it have these empty.
    "ALTER TABLE instances ADD COLUMN study_time TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN study_description TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN body_part TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN study_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN patient_birth_date TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN patient_sex TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN series_number TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN series_description TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE instances ADD COLUMN instance_number TEXT NOT NULL DEFAULT '';"};
constexpr int64_t kSchemaVersion = std::size(kMigrations);

// The index's schema version; throws when a newer CountyLink wrote it.
int64_t schema_version(sqlite3* db) {
    Statement read(db, "PRAGMA user_version");
    read.step();
    const int64_t version = read.integer(0);
    if (version > kSchemaVersion) {
        throw std::runtime_error("the index was written by a newer CountyLink (schema " +
                                 std::to_string(version) + ", this one knows up to " +
                                 std::to_string(kSchemaVersion) +
                                 "): run that version, or restore an index this one wrote");
    }
    return version;
}

void migrate(sqlite3* db) {
    // A current index is opened without the write lock (tools beside a running gateway).
    while (schema_version(db) < kSchemaVersion) {
        sqlite::Transaction transaction(db);
        const int64_t version = schema_version(db);  // again under the lock
        if (version == kSchemaVersion) return;
        sqlite::exec(db, kMigrations[version]);
        sqlite::exec(db, ("PRAGMA user_version = " + std::to_string(version + 1)).c_str());
        transaction.commit();
    }
}

// kViewerAttributes are the last nine, in their order.
constexpr const char* kInstanceColumns =
    "sop_instance_uid, version, sop_class_uid, study_instance_uid, series_instance_uid, "
    "patient_id, patient_name, modality, study_date, accession_number, transfer_syntax_uid, "
    "township, calling_ae, received_at_ms, stored_at_ms, raw_size, stored_size, sha256, flags, "
    "study_time, study_description, body_part, study_id, patient_birth_date, patient_sex, "
    "series_number, series_description, instance_number";

InstanceRow read_instance(const Statement& s) {
    InstanceRow row;
    auto& r = row.record;
    r.sop_instance_uid = s.text(0);
    row.version = static_cast<int>(s.integer(1));
    r.sop_class_uid = s.text(2);
    r.study_instance_uid = s.text(3);
    r.series_instance_uid = s.text(4);
    r.patient_id = s.text(5);
    r.patient_name = s.text(6);
    r.modality = s.text(7);
    r.study_date = s.text(8);
    r.accession_number = s.text(9);
    r.transfer_syntax_uid = s.text(10);
    r.township = s.text(11);
    r.calling_ae = s.text(12);
    r.received_at_ms = s.integer(13);
    r.stored_at_ms = s.integer(14);
    r.raw_size = static_cast<uint64_t>(s.integer(15));
    r.stored_size = static_cast<uint64_t>(s.integer(16));
    r.sha256 = s.text(17);
    r.flags = s.text(18);
    int column = 19;
    for (const auto& [name, field] : kViewerAttributes) r.*field = s.text(column++);
    return row;
}

}  // namespace

SqliteIndex::SqliteIndex(const std::filesystem::path& file)
    : writer_(std::make_unique<sqlite::Database>(file)) {
    sqlite::exec(writer_->handle(), kSchema);
    migrate(writer_->handle());
    reader_ = std::make_unique<sqlite::Database>(file);
}

SqliteIndex::~SqliteIndex() = default;

namespace {

// Adds a newly stored instance to the worklist item of (queue, study) for each of its queues.
// A study keeps assembling until no instance arrived for stable_after (promotion happens in
// the reading queues' tick); an ECG is pending at once; a late instance marks it updated.
class ItemWriter {
  public:
    explicit ItemWriter(sqlite::Database& db)
        : find_(db, "SELECT id, state FROM items WHERE queue = ?1 AND study_key = ?2"),
          insert_(db,
                  "INSERT INTO items (queue, study_key, study_instance_uid, township, patient_id, "
                  "patient_name, modality, body_part, description, acquired_at, priority, "
                  "received_at_ms, last_instance_ms, queued_at_ms, state) VALUES "
                  "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?12,?13,?14) RETURNING id"),
          touch_(db,
                 "UPDATE items SET last_instance_ms = ?2, priority = MIN(priority, ?3), "
                 "updated = CASE WHEN state = 'assembling' THEN updated ELSE 1 END, "
                 "queued_at_ms = CASE WHEN ?4 AND state = 'assembling' THEN ?2 ELSE "
                 "queued_at_ms END, "
                 "state = CASE WHEN ?4 AND state = 'assembling' THEN 'pending' ELSE state END "
                 "WHERE id = ?1"),
          link_(db,
                "INSERT OR IGNORE INTO item_instances (item_id, sop_instance_uid, "
                "series_instance_uid) VALUES (?1, ?2, ?3)"),
          count_(db,
                 "UPDATE items SET instance_count = (SELECT COUNT(*) FROM item_instances WHERE "
                 "item_id = ?1) WHERE id = ?1") {}

    void add(const InstanceRecord& r) {
        // Without a Study Instance UID (a warning, not a refusal) the instance is its own study.
        const std::string study_key =
            r.study_instance_uid.empty() ? r.sop_instance_uid : r.study_instance_uid;
        for (const auto& queue : r.queues) {
            int64_t id = 0;
            find_.reset().bind(1, queue).bind(2, study_key);
            if (find_.step()) {
                id = find_.integer(0);
                touch_.reset()
                    .bind(1, id)
                    .bind(2, r.stored_at_ms)
                    .bind(3, int64_t{r.priority})
                    .bind(4, int64_t{r.immediate});
                touch_.step();
            } else {
                insert_.reset()
                    .bind(1, queue)
                    .bind(2, study_key)
                    .bind(3, r.study_instance_uid)
                    .bind(4, r.township)
                    .bind(5, r.patient_id)
                    .bind(6, r.patient_name)
                    .bind(7, r.modality)
                    .bind(8, r.body_part)
                    .bind(9, r.study_description)
                    .bind(10, r.study_date + (r.study_time.empty() ? "" : " " + r.study_time))
                    .bind(11, int64_t{r.priority})
                    .bind(12, r.stored_at_ms)
                    .bind(14, std::string(r.immediate ? "pending" : "assembling"));
                if (r.immediate) {
                    insert_.bind(13, r.stored_at_ms);
                } else {
                    insert_.bind_null(13);
                }
                insert_.step();
                id = insert_.integer(0);
                while (insert_.step()) {
                }
            }
            link_.reset().bind(1, id).bind(2, r.sop_instance_uid).bind(3, r.series_instance_uid);
            link_.step();
            count_.reset().bind(1, id);
            count_.step();
        }
    }

  private:
    Statement find_, insert_, touch_, link_, count_;
};

}  // namespace

std::vector<RecordOutcome> SqliteIndex::record_instances(std::span<const InstanceRecord> batch) {
    std::lock_guard lock(writer_->mutex());
    sqlite3* db = writer_->handle();
    sqlite::Transaction transaction(db);
    std::vector<RecordOutcome> outcomes;
    Statement lookup(*writer_,
                     "SELECT sha256, version FROM instances WHERE sop_instance_uid = ?1 "
                     "ORDER BY version DESC LIMIT 1");
    const std::string insert_sql = std::string("INSERT INTO instances (") + kInstanceColumns +
                                   ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,"
                                   "?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28)";
    Statement insert(*writer_, insert_sql);
    ItemWriter items(*writer_);
    Statement ecg(*writer_,
                  "INSERT OR REPLACE INTO ecg_records (sop_instance_uid, sha256, format, "
                  "original_sha256, original_content_type, original_size, verdict, findings, "
                  "heart_rate_bpm, sample_rate_hz, duration_s, leads) VALUES "
                  "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
    // The outbox: one item per destination and distinct bytes of an instance.
    Statement enqueue(*writer_,
                      "INSERT OR IGNORE INTO forward_items (destination, sop_instance_uid, "
                      "sop_class_uid, transfer_syntax_uid, sha256, priority, created_ms, "
                      "next_attempt_ms, state) VALUES (?1,?2,?3,?4,?5,?6,?7,?7,'pending')");
    for (const auto& r : batch) {
        lookup.reset().bind(1, r.sop_instance_uid);
        int version = 1;
        RecordOutcome outcome = RecordOutcome::stored;
        if (lookup.step()) {
            // Same bytes as the latest version: nothing new. Same bytes as an older one: a new
            // version (the blob is shared), so "latest" is what was sent last.
            if (lookup.text(0) == r.sha256) {
                outcomes.push_back(RecordOutcome::duplicate);
                continue;
            }
            version = static_cast<int>(lookup.integer(1)) + 1;
            outcome = RecordOutcome::new_version;
        }
        std::string flags = r.flags;
        if (outcome == RecordOutcome::new_version) {
            flags += flags.empty() ? "new_version" : ",new_version";
        }
        insert.reset()
            .bind(1, r.sop_instance_uid)
            .bind(2, int64_t{version})
            .bind(3, r.sop_class_uid)
            .bind(4, r.study_instance_uid)
            .bind(5, r.series_instance_uid)
            .bind(6, r.patient_id)
            .bind(7, r.patient_name)
            .bind(8, r.modality)
            .bind(9, r.study_date)
            .bind(10, r.accession_number)
            .bind(11, r.transfer_syntax_uid)
            .bind(12, r.township)
            .bind(13, r.calling_ae)
            .bind(14, r.received_at_ms)
            .bind(15, r.stored_at_ms)
            .bind(16, static_cast<int64_t>(r.raw_size))
            .bind(17, static_cast<int64_t>(r.stored_size))
            .bind(18, r.sha256)
            .bind(19, flags);
        int column = 20;
        for (const auto& [name, field] : kViewerAttributes) insert.bind(column++, r.*field);
        insert.step();
        if (r.ecg) {
            const EcgRecord& e = *r.ecg;
            ecg.reset()
                .bind(1, r.sop_instance_uid)
                .bind(2, r.sha256)
                .bind(3, e.format)
                .bind(4, e.original_sha256)
                .bind(5, e.original_content_type)
                .bind(6, static_cast<int64_t>(e.original_size))
                .bind(7, e.verdict)
                .bind(8, e.findings_json)
                .bind(9, e.heart_rate_bpm)
                .bind(10, e.sample_rate_hz)
                .bind(11, e.duration_s)
                .bind(12, int64_t{e.leads});
            ecg.step();
        }
        items.add(r);
        for (const auto& destination : r.forward) {
            enqueue.reset()
                .bind(1, destination)
                .bind(2, r.sop_instance_uid)
                .bind(3, r.sop_class_uid)
                .bind(4, r.transfer_syntax_uid)
                .bind(5, r.sha256)
                .bind(6, int64_t{r.priority})
                .bind(7, r.stored_at_ms);
            enqueue.step();
        }
        outcomes.push_back(outcome);
    }
    transaction.commit();
    return outcomes;
}

std::optional<InstanceRow> SqliteIndex::latest_instance(const std::string& sop_instance_uid) {
    std::lock_guard lock(reader_->mutex());
    const std::string sql = std::string("SELECT ") + kInstanceColumns +
                            " FROM instances WHERE sop_instance_uid = ?1 ORDER BY version DESC "
                            "LIMIT 1";
    Statement s(reader_->handle(), sql.c_str());
    s.bind(1, sop_instance_uid);
    if (!s.step()) return std::nullopt;
    return read_instance(s);
}

void SqliteIndex::record_quarantine(const QuarantineRecord& q) {
    std::lock_guard lock(writer_->mutex());
    Statement s(writer_->handle(),
                "INSERT INTO quarantine (file, sop_instance_uid, sop_class_uid, township, "
                "calling_ae, received_at_ms, status, finding, reason, size) VALUES "
                "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
    s.bind(1, q.file)
        .bind(2, q.sop_instance_uid)
        .bind(3, q.sop_class_uid)
        .bind(4, q.township)
        .bind(5, q.calling_ae)
        .bind(6, q.received_at_ms)
        .bind(7, int64_t{q.status})
        .bind(8, q.finding)
        .bind(9, q.reason)
        .bind(10, static_cast<int64_t>(q.size));
    s.step();
}

void SqliteIndex::remove_quarantine(int64_t id) {
    std::lock_guard lock(writer_->mutex());
    Statement s(writer_->handle(), "DELETE FROM quarantine WHERE id = ?1");
    s.bind(1, id);
    s.step();
}

std::vector<QuarantineRow> SqliteIndex::quarantine(std::size_t limit) {
    std::lock_guard lock(reader_->mutex());
    Statement s(reader_->handle(),
                "SELECT id, file, sop_instance_uid, sop_class_uid, township, calling_ae, "
                "received_at_ms, status, finding, reason, size FROM quarantine ORDER BY id DESC "
                "LIMIT ?1");
    s.bind(1, static_cast<int64_t>(limit));
    std::vector<QuarantineRow> rows;
    while (s.step()) {
        QuarantineRow row;
        row.id = s.integer(0);
        auto& q = row.record;
        q.file = s.text(1);
        q.sop_instance_uid = s.text(2);
        q.sop_class_uid = s.text(3);
        q.township = s.text(4);
        q.calling_ae = s.text(5);
        q.received_at_ms = s.integer(6);
        q.status = static_cast<uint16_t>(s.integer(7));
        q.finding = s.text(8);
        q.reason = s.text(9);
        q.size = static_cast<uint64_t>(s.integer(10));
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<std::string> SqliteIndex::referenced_blobs() {
    std::lock_guard lock(reader_->mutex());
    Statement s(reader_->handle(),
                "SELECT sha256 FROM instances UNION SELECT original_sha256 FROM ecg_records "
                "WHERE original_sha256 != ''");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

std::optional<EcgRecord> SqliteIndex::ecg_record(const std::string& sop_instance_uid) {
    std::lock_guard lock(reader_->mutex());
    Statement s(reader_->handle(),
                "SELECT e.format, e.original_sha256, e.original_content_type, e.original_size, "
                "e.verdict, e.findings, e.heart_rate_bpm, e.sample_rate_hz, e.duration_s, e.leads "
                "FROM ecg_records AS e JOIN instances AS i ON i.sop_instance_uid = "
                "e.sop_instance_uid AND i.sha256 = e.sha256 WHERE i.sop_instance_uid = ?1 "
                "ORDER BY i.version DESC LIMIT 1");
    s.bind(1, sop_instance_uid);
    if (!s.step()) return std::nullopt;
    EcgRecord e;
    e.format = s.text(0);
    e.original_sha256 = s.text(1);
    e.original_content_type = s.text(2);
    e.original_size = static_cast<uint64_t>(s.integer(3));
    e.verdict = s.text(4);
    e.findings_json = s.text(5);
    e.heart_rate_bpm = s.real(6);
    e.sample_rate_hz = s.real(7);
    e.duration_s = s.real(8);
    e.leads = static_cast<int>(s.integer(9));
    return e;
}

std::vector<InstanceRow> SqliteIndex::find_instances(const InstanceQuery& q) {
    std::string sql = std::string("SELECT ") + kInstanceColumns +
                      " FROM instances AS i WHERE version = (SELECT MAX(version) FROM instances "
                      "WHERE sop_instance_uid = i.sop_instance_uid)";
    std::vector<std::string> values;
    auto compare = [&](const char* column, const char* op, const std::string& value) {
        values.push_back(value);
        sql += std::string(" AND ") + column + " " + op + " ?" + std::to_string(values.size());
    };
    auto equal = [&](const char* column, const std::string& value) {
        if (!value.empty()) compare(column, "=", value);
    };
    equal("patient_id", q.patient_id);
    equal("modality", q.modality);
    equal("accession_number", q.accession_number);
    equal("study_instance_uid", q.study_instance_uid);
    equal("series_instance_uid", q.series_instance_uid);
    equal("sop_instance_uid", q.sop_instance_uid);
    if (const auto dash = q.study_date.find('-'); dash == std::string::npos) {
        equal("study_date", q.study_date);
    } else {
        if (dash > 0) compare("study_date", ">=", q.study_date.substr(0, dash));
        if (dash + 1 < q.study_date.size())
            compare("study_date", "<=", q.study_date.substr(dash + 1));
    }
    sql += " ORDER BY study_instance_uid, series_instance_uid, sop_instance_uid LIMIT " +
           std::to_string(q.limit);
    std::lock_guard lock(reader_->mutex());
    Statement s(reader_->handle(), sql);
    for (std::size_t i = 0; i < values.size(); ++i) s.bind(static_cast<int>(i + 1), values[i]);
    std::vector<InstanceRow> rows;
    while (s.step()) rows.push_back(read_instance(s));
    return rows;
}

std::vector<TownshipSummary> SqliteIndex::townships() {
    std::lock_guard lock(reader_->mutex());
    Statement s(reader_->handle(),
                "SELECT township, COUNT(*), MAX(received_at_ms) FROM instances GROUP BY township "
                "ORDER BY COUNT(*) DESC");
    std::vector<TownshipSummary> out;
    while (s.step()) out.push_back({s.text(0), static_cast<uint64_t>(s.integer(1)), s.integer(2)});
    return out;
}

std::vector<std::string> SqliteIndex::backup_to(const std::filesystem::path& destination) {
    {
        sqlite::Database copy(destination);
        std::lock_guard lock(reader_->mutex());
        sqlite3_backup* b = sqlite3_backup_init(copy.handle(), "main", reader_->handle(), "main");
        if (!b) sqlite::fail(copy.handle(), "backup");
        const int rc = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE) sqlite::fail(copy.handle(), "backup step");
    }
    SqliteIndex copy(destination);
    return copy.referenced_blobs();
}

namespace {

// What keeps a study from purge: a forward copy not delivered (pending, or dead-lettered:
// never lost); a worklist item not reported, or given an instance after its report (a reader
// has not seen it); an object also stored under another study (removing one study's versions
// would change what the other serves).
constexpr const char* kUndeliveredStudies =
    "SELECT i.study_instance_uid FROM forward_items AS f JOIN instances AS i ON "
    "i.sop_instance_uid = f.sop_instance_uid AND i.sha256 = f.sha256 WHERE f.state != "
    "'delivered'";
// Each ends in a WHERE clause, so purge_study can narrow it to one study with "AND ...".
constexpr const char* kUnreadStudies =
    "SELECT study_instance_uid FROM items WHERE (state != 'reported' OR last_instance_ms > "
    "reported_at_ms)";
constexpr const char* kSharedStudies =
    "SELECT a.study_instance_uid FROM instances AS a JOIN instances AS b ON b.sop_instance_uid = "
    "a.sop_instance_uid WHERE b.study_instance_uid != a.study_instance_uid";
// Studies whose every instance row was stored before ?1 (instances without a Study Instance
// UID are not a study, and never purged).
constexpr const char* kOldStudies =
    "SELECT study_instance_uid AS study FROM instances WHERE study_instance_uid != '' GROUP BY "
    "study_instance_uid HAVING MAX(stored_at_ms) < ?1";

}  // namespace

std::vector<PurgeCandidate> SqliteIndex::purgeable_studies(int64_t stored_before_ms) {
    std::lock_guard lock(reader_->mutex());
    // township: SQLite takes a bare column from the row that gave the single MAX().
    Statement s(reader_->handle(),
                std::string("SELECT study_instance_uid, township, COUNT(*), SUM(stored_size), "
                            "MAX(stored_at_ms) AS last FROM instances WHERE study_instance_uid != "
                            "'' GROUP BY study_instance_uid HAVING last < ?1 AND "
                            "study_instance_uid NOT IN (") +
                    kUndeliveredStudies + ") AND study_instance_uid NOT IN (" + kUnreadStudies +
                    ") AND study_instance_uid NOT IN (" + kSharedStudies +
                    ") ORDER BY last, study_instance_uid");
    s.bind(1, stored_before_ms);
    std::vector<PurgeCandidate> out;
    while (s.step()) {
        out.push_back({s.text(0), s.text(1), static_cast<uint64_t>(s.integer(2)),
                       static_cast<uint64_t>(s.integer(3)), s.integer(4)});
    }
    return out;
}

PurgeHolds SqliteIndex::purge_holds(int64_t stored_before_ms) {
    std::lock_guard lock(reader_->mutex());
    Statement s(reader_->handle(),
                std::string("WITH old AS (") + kOldStudies +
                    ") SELECT (SELECT COUNT(*) FROM old WHERE study IN (" + kUndeliveredStudies +
                    ")), (SELECT COUNT(*) FROM old WHERE study IN (" + kUnreadStudies +
                    ")), (SELECT COUNT(*) FROM old WHERE study IN (" + kSharedStudies + "))");
    s.bind(1, stored_before_ms);
    s.step();
    return {static_cast<uint64_t>(s.integer(0)), static_cast<uint64_t>(s.integer(1)),
            static_cast<uint64_t>(s.integer(2))};
}

std::optional<std::vector<std::string>> SqliteIndex::purge_study(const std::string& study_uid,
                                                                 int64_t stored_before_ms) {
    std::lock_guard lock(writer_->mutex());
    sqlite3* db = writer_->handle();
    sqlite::Transaction transaction(db);
    // Still purgeable, inside the transaction that deletes it (by this study's rows only: a
    // purge of many studies must not rescan the whole index for each).
    Statement check(db, std::string("SELECT ?2 != '' AND (SELECT MAX(stored_at_ms) FROM "
                                    "instances WHERE study_instance_uid = ?2) < ?1 AND NOT "
                                    "EXISTS (") +
                            kUndeliveredStudies +
                            " AND i.study_instance_uid = ?2) AND NOT EXISTS (" + kUnreadStudies +
                            " AND study_instance_uid = ?2) AND NOT EXISTS (" + kSharedStudies +
                            " AND a.study_instance_uid = ?2)");
    check.bind(1, stored_before_ms).bind(2, study_uid);
    if (!check.step() || check.integer(0) == 0) return std::nullopt;

    constexpr const char* kStudyInstances =
        "SELECT sop_instance_uid, sha256 FROM instances WHERE study_instance_uid = ?1";
    std::vector<std::string> blobs;
    Statement names(db,
                    "SELECT sha256 FROM instances WHERE study_instance_uid = ?1 UNION SELECT "
                    "e.original_sha256 FROM ecg_records AS e JOIN instances AS i ON "
                    "i.sop_instance_uid = e.sop_instance_uid AND i.sha256 = e.sha256 WHERE "
                    "i.study_instance_uid = ?1 AND e.original_sha256 != ''");
    names.bind(1, study_uid);
    while (names.step()) blobs.push_back(names.text(0));

    for (const std::string& sql :
         {std::string("DELETE FROM forward_items WHERE (sop_instance_uid, sha256) IN (") +
              kStudyInstances + ")",
          std::string("DELETE FROM ecg_records WHERE (sop_instance_uid, sha256) IN (") +
              kStudyInstances + ")",
          // The worklist items stay: they hold the readers' reports, which CountyLink keeps
          // nowhere else; only their links to the removed instances go.
          std::string("DELETE FROM item_instances WHERE item_id IN (SELECT id FROM items WHERE "
                      "study_instance_uid = ?1)"),
          std::string("DELETE FROM instances WHERE study_instance_uid = ?1")}) {
        Statement remove(db, sql);
        remove.bind(1, study_uid);
        remove.step();
    }
    // A blob another study's row still names stays (the same bytes under two studies).
    Statement referenced(db,
                         "SELECT EXISTS (SELECT 1 FROM instances WHERE sha256 = ?1) OR EXISTS "
                         "(SELECT 1 FROM ecg_records WHERE original_sha256 = ?1)");
    std::vector<std::string> unreferenced;
    for (const auto& sha : blobs) {
        referenced.reset().bind(1, sha);
        if (referenced.step() && referenced.integer(0) == 0) unreferenced.push_back(sha);
    }
    transaction.commit();
    return unreferenced;
}

namespace {

// After instance rows went (forget_blobs, forget_instance): what named only them goes too.
void drop_dependents(sqlite3* db, const std::vector<std::pair<std::string, std::string>>& removed) {
    Statement left(db,
                   "SELECT EXISTS (SELECT 1 FROM instances WHERE sop_instance_uid = ?1 AND "
                   "sha256 = ?2), EXISTS (SELECT 1 FROM instances WHERE sop_instance_uid = ?1)");
    Statement forwards(db, "DELETE FROM forward_items WHERE sop_instance_uid = ?1 AND sha256 = ?2");
    Statement ecgs(db, "DELETE FROM ecg_records WHERE sop_instance_uid = ?1 AND sha256 = ?2");
    Statement links(db, "SELECT item_id FROM item_instances WHERE sop_instance_uid = ?1");
    Statement unlink(db, "DELETE FROM item_instances WHERE sop_instance_uid = ?1");
    Statement recount(db,
                      "UPDATE items SET instance_count = (SELECT COUNT(*) FROM item_instances "
                      "WHERE item_id = ?1) WHERE id = ?1");
    // An item the lost instance opened, that no reader has touched, would list nothing.
    Statement drop_item(db,
                        "DELETE FROM items WHERE id = ?1 AND instance_count = 0 AND claimed_by "
                        "IS NULL AND reported_at_ms IS NULL");
    for (const auto& [sop, sha] : removed) {
        left.reset().bind(1, sop).bind(2, sha);
        if (!left.step()) continue;
        const bool same_bytes_left = left.integer(0) != 0;
        const bool instance_left = left.integer(1) != 0;
        if (!same_bytes_left) {
            forwards.reset().bind(1, sop).bind(2, sha).step();
            ecgs.reset().bind(1, sop).bind(2, sha).step();
        }
        if (instance_left) continue;
        std::vector<int64_t> items;
        links.reset().bind(1, sop);
        while (links.step()) items.push_back(links.integer(0));
        unlink.reset().bind(1, sop).step();
        for (const int64_t item : items) {
            recount.reset().bind(1, item).step();
            drop_item.reset().bind(1, item).step();
        }
    }
}

}  // namespace

std::size_t SqliteIndex::forget_blobs(const std::vector<std::string>& sha256s) {
    std::lock_guard lock(writer_->mutex());
    sqlite3* db = writer_->handle();
    sqlite::Transaction transaction(db);
    Statement rows(db, "SELECT sop_instance_uid FROM instances WHERE sha256 = ?1");
    Statement remove(db, "DELETE FROM instances WHERE sha256 = ?1");
    std::vector<std::pair<std::string, std::string>> removed;
    for (const auto& sha : sha256s) {
        rows.reset().bind(1, sha);
        while (rows.step()) removed.emplace_back(rows.text(0), sha);
        remove.reset().bind(1, sha).step();
    }
    drop_dependents(db, removed);
    transaction.commit();
    return removed.size();
}

bool SqliteIndex::forget_instance(const std::string& sop_instance_uid, const std::string& sha256) {
    std::lock_guard lock(writer_->mutex());
    sqlite3* db = writer_->handle();
    sqlite::Transaction transaction(db);
    Statement latest(db,
                     "SELECT version FROM instances WHERE sop_instance_uid = ?1 AND sha256 = ?2 "
                     "AND version = (SELECT MAX(version) FROM instances WHERE "
                     "sop_instance_uid = ?1)");
    latest.bind(1, sop_instance_uid).bind(2, sha256);
    if (!latest.step()) return false;
    Statement remove(db, "DELETE FROM instances WHERE sop_instance_uid = ?1 AND version = ?2");
    remove.bind(1, sop_instance_uid).bind(2, latest.integer(0)).step();
    drop_dependents(db, {{sop_instance_uid, sha256}});
    transaction.commit();
    return true;
}

uint64_t SqliteIndex::instance_count() {
    std::lock_guard lock(reader_->mutex());
    Statement s(reader_->handle(), "SELECT COUNT(*) FROM instances");
    s.step();
    return static_cast<uint64_t>(s.integer(0));
}

std::vector<InstanceRow> SqliteIndex::rows_without_viewer_attributes() {
    std::lock_guard lock(reader_->mutex());
    std::string sql = std::string("SELECT ") + kInstanceColumns + " FROM instances WHERE 1";
    for (const auto& [name, field] : kViewerAttributes)
        sql += " AND " + std::string(name) + " = ''";
    Statement s(reader_->handle(), sql + " ORDER BY id");
    std::vector<InstanceRow> rows;
    while (s.step()) rows.push_back(read_instance(s));
    return rows;
}

void SqliteIndex::set_viewer_attributes(std::span<const InstanceRow> rows) {
    std::lock_guard lock(writer_->mutex());
    sqlite3* db = writer_->handle();
    sqlite::Transaction transaction(db);
    std::string sql = "UPDATE instances SET ";
    int column = 3;
    for (const auto& [name, field] : kViewerAttributes) {
        sql += (column == 3 ? "" : ", ") + std::string(name) + " = ?" + std::to_string(column);
        ++column;
    }
    Statement update(db, sql + " WHERE sop_instance_uid = ?1 AND version = ?2");
    for (const auto& row : rows) {
        update.reset().bind(1, row.record.sop_instance_uid).bind(2, int64_t{row.version});
        column = 3;
        for (const auto& [name, field] : kViewerAttributes) {
            update.bind(column++, row.record.*field);
        }
        update.step();
    }
    transaction.commit();
}

}  // namespace countylink::store
