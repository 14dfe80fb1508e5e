// Small RAII layer over the SQLite C API shared by the SQLite implementations of the store
// seams: a connection (WAL, synchronous=FULL) with its mutex, and prepared statements.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>

namespace countylink::store::sqlite {

// Throws std::runtime_error with SQLite's message for `db`.
[[noreturn]] void fail(sqlite3* db, const std::string& what);

// Runs SQL without results (schema, pragmas, BEGIN/COMMIT); throws on error.
void exec(sqlite3* db, const char* sql);

class Database {
  public:
    // Opens or creates the file; WAL journal, synchronous=FULL, 10 s busy timeout.
    explicit Database(const std::filesystem::path& file);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    sqlite3* handle() const { return db_; }
    std::mutex& mutex() { return mutex_; }

    // `sql` prepared once for this connection and kept until it closes (the ingest path runs
    // the same dozen statements for every commit; parsing them each time cost more than the
    // inserts). Only under mutex(); use through Statement's Database constructor.
    sqlite3_stmt* prepared(const std::string& sql);

  private:
    sqlite3* db_ = nullptr;
    std::mutex mutex_;
    std::unordered_map<std::string, sqlite3_stmt*> prepared_;
};

// A transaction that rolls back unless commit() was called.
class Transaction {
  public:
    explicit Transaction(sqlite3* db);  // BEGIN IMMEDIATE: writers queue up front
    ~Transaction();
    void commit();

  private:
    sqlite3* db_;
    bool done_ = false;
};

// A prepared statement, finalized by RAII; or one of the connection's kept statements
// (Database::prepared), then only reset when this handle goes.
class Statement {
  public:
    Statement(sqlite3* db, const char* sql);
    Statement(sqlite3* db, const std::string& sql) : Statement(db, sql.c_str()) {}
    Statement(Database& db, const std::string& sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Makes the statement ready to run again with new bindings.
    Statement& reset();
    Statement& bind(int i, const std::string& v);
    Statement& bind(int i, int64_t v);
    Statement& bind(int i, double v);
    Statement& bind_null(int i);
    // True while a row is available; throws on error.
    bool step();
    std::string text(int col) const;
    int64_t integer(int col) const;
    double real(int col) const;
    bool is_null(int col) const;

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    bool kept_ = false;  // the connection's: reset, not finalized
};

}  // namespace countylink::store::sqlite
