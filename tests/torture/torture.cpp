#include "tests/torture/torture.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "codecs/dicom/part10.hpp"

namespace countylink::testing::torture {

int rounds(int ci) {
    const char* env = std::getenv("COUNTYLINK_TORTURE_ROUNDS");
    return env && *env ? std::max(1, std::atoi(env)) : ci;
}

std::vector<fs::path> synth_ct(const fs::path& dir, int count, int studies, int seed, int size) {
    const std::string pixels = std::to_string(size);
    const auto r = run((bin_dir() / "countylink-synth").string() + " --out '" + dir.string() +
                       "' --kind ct --rows " + pixels + " --cols " + pixels + " --count " +
                       std::to_string(count) + " --studies " + std::to_string(studies) +
                       " --seed " + std::to_string(seed));
    if (r.exit_code != 0) throw std::runtime_error("countylink-synth failed:\n" + r.output);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

std::string sop_uid(const fs::path& file) {
    const auto start = codecs::dicom::read_part10_start(read_file(file));
    if (!start) throw std::runtime_error("not a Part-10 file: " + file.string());
    return start->meta.sop_instance_uid;
}

namespace {

std::string quoted_list(const std::vector<fs::path>& files) {
    std::string out;
    for (const auto& f : files) out += " '" + f.string() + "'";
    return out;
}

}  // namespace

std::vector<fs::path> storescu_acknowledged(uint16_t port, const std::vector<fs::path>& files,
                                            const std::string& extra_args) {
    const auto r = run("storescu -v -R " + extra_args + " -aec COUNTYLINK 127.0.0.1 " +
                       std::to_string(port) + quoted_list(files));
    std::vector<fs::path> acknowledged;
    std::istringstream lines(r.output);
    std::string line, current;
    while (std::getline(lines, line)) {
        if (const auto at = line.find("Sending file: "); at != std::string::npos) {
            current = line.substr(at + 14);
        } else if (line.find("Received Store Response (Success") != std::string::npos ||
                   line.find("Received Store Response (Warning") != std::string::npos) {
            if (!current.empty()) acknowledged.emplace_back(current);
            current.clear();
        }
    }
    return acknowledged;
}

std::vector<fs::path> stow_acknowledged(uint16_t http_port, const std::string& token,
                                        const std::vector<fs::path>& files) {
    const std::string url = "http://127.0.0.1:" + std::to_string(http_port) + "/dicomweb/studies";
    const auto r = run(
        "for f in" + quoted_list(files) +
        "; do code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30"
        " -H 'Authorization: Bearer " +
        token +
        "' -H 'Content-Type: multipart/related; type=\"application/dicom\"; boundary=TORTURE'"
        " --data-binary @<(printf -- '--TORTURE\\r\\nContent-Type: application/dicom\\r\\n\\r\\n';"
        " cat \"$f\"; printf -- '\\r\\n--TORTURE--\\r\\n') " +
        url +
        "); if [ \"$code\" = 200 ]; then echo \"ACK $f\"; elif [ \"$code\" = 000 ]; then "
        "break; fi; done");
    std::vector<fs::path> acknowledged;
    std::istringstream lines(r.output);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("ACK ", 0) == 0) acknowledged.emplace_back(line.substr(4));
    }
    return acknowledged;
}

std::vector<std::string> missing_or_changed(const Gateway& gw,
                                            const std::map<std::string, fs::path>& acknowledged) {
    std::vector<std::string> bad;
    for (const auto& [uid, file] : acknowledged) {
        const auto res = gw.get("/api/v1/instances/" + uid);
        if (res.status != 200) {
            bad.push_back(uid + ": HTTP " + std::to_string(res.status));
            continue;
        }
        std::vector<std::byte> body(res.body.size());
        if (!body.empty()) std::memcpy(body.data(), res.body.data(), body.size());
        if (dataset_bytes(body) != dataset_bytes(read_file(file))) {
            bad.push_back(uid + ": dataset bytes differ from " + file.string());
        }
    }
    return bad;
}

namespace {

fs::path created(const fs::path& dir) {
    fs::create_directories(dir);
    return dir;
}

}  // namespace

Pacs::Pacs(const fs::path& d)
    : dir(created(d)),
      port(free_port()),
      storescp_({"storescp", "+xa", "+B", "+uf", "-od", dir.string(), std::to_string(port)},
                d.parent_path() / (d.filename().string() + ".log")) {
    wait_for_port(port);
}

std::string forward_config(uint16_t port) {
    return "[forward]\nbackoff_initial_s = 1\nbackoff_max_s = 1\n"
           "[[forward.destinations]]\nname = \"pacs\"\nae_title = \"PACS\"\n"
           "host = \"127.0.0.1\"\nport = " +
           std::to_string(port) +
           "\n[[routing.rules]]\nmodalities = [\"CT\"]\nqueues = [\"imaging\"]\n"
           "forward = [\"pacs\"]\n";
}

std::map<std::string, int> received_by_uid(const fs::path& dir) {
    std::map<std::string, int> count;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        const auto start = codecs::dicom::read_part10_start(read_file(e.path()));
        ++count[start ? start->meta.sop_instance_uid : ""];
    }
    return count;
}

namespace {

// Rows of a query as tab-joined strings.
std::vector<std::string> query(sqlite3* db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
        throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db) + " in " + sql);
    }
    std::vector<std::string> rows;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        std::string row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
            const auto* text = sqlite3_column_text(stmt, i);
            if (i) row += '\t';
            if (text) row += reinterpret_cast<const char*>(text);
        }
        rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    return rows;
}

}  // namespace

namespace {

// The index, read-only (the gateway may be running: WAL lets both read).
sqlite3* open_index(const fs::path& data_dir) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2((data_dir / "index.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
        sqlite3_close(db);
        throw std::runtime_error("cannot open the index in " + data_dir.string());
    }
    sqlite3_busy_timeout(db, 10000);
    return db;
}

}  // namespace

std::size_t undelivered_forward_items(const fs::path& data_dir) {
    sqlite3* db = open_index(data_dir);
    const auto rows = query(db, "SELECT id FROM forward_items WHERE state != 'delivered'");
    sqlite3_close(db);
    return rows.size();
}

std::vector<std::string> index_problems(const fs::path& data_dir) {
    sqlite3* db = open_index(data_dir);
    std::vector<std::string> problems;
    for (const auto& sha : query(db, "SELECT DISTINCT sha256 FROM instances")) {
        if (!fs::exists(data_dir / "blobs" / sha.substr(0, 2) / (sha + ".zst"))) {
            problems.push_back("instance blob missing: " + sha);
        }
    }
    // Each query lists violations of one rule.
    static const std::pair<const char*, const char*> rules[] = {
        {"study twice in a queue: ",
         "SELECT queue, study_instance_uid, COUNT(*) FROM items "
         "GROUP BY queue, study_instance_uid HAVING COUNT(*) > 1"},
        {"worklist item names a missing instance: ",
         "SELECT ii.sop_instance_uid FROM item_instances ii LEFT JOIN instances i "
         "USING (sop_instance_uid) WHERE i.id IS NULL"},
        {"forward item without its instance: ",
         "SELECT f.sop_instance_uid FROM forward_items f LEFT JOIN instances i ON "
         "i.sop_instance_uid = f.sop_instance_uid AND i.sha256 = f.sha256 WHERE i.id IS NULL"},
        {"an object sent once is indexed twice: ",
         "SELECT sop_instance_uid, COUNT(*) FROM instances "
         "GROUP BY sop_instance_uid, sha256 HAVING COUNT(*) > 1"},
    };
    for (const auto& [label, sql] : rules) {
        for (const auto& row : query(db, sql)) problems.push_back(label + row);
    }
    sqlite3_close(db);
    return problems;
}

double metric(const Gateway& gw, const std::string& sample) {
    const auto body = gw.get("/metrics").body;
    std::istringstream lines(body);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
    }
    return 0;
}

}  // namespace countylink::testing::torture
