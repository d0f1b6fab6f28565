#pragma once
// Every metric family drwatchd exports, declared once: name, type, HELP and
// label names. Code that exports a value makes its sample from the family
// (kDataAgeSeconds.Make(age)), so the HELP and TYPE lines on /metrics do not
// depend on which check produced a family first. Names, types and label sets
// are an interface: config/alerts/ and config/grafana/ query them.

#include <span>
#include <string_view>

#include "metrics/sample.hpp"

namespace drwatch::metrics {

/// A metric family. `labels` lists the label names of its series on /metrics,
/// in order, comma-separated. A probe sets only the labels after
/// "check,target": the engine puts those two in front.
struct Family {
  std::string_view name;
  MetricType type;
  std::string_view help;
  std::string_view labels;

  /// A sample of this family (not a histogram) with `value` and `labels`.
  Sample Make(double value, Labels labels = {}) const;
  /// A sample of this histogram family.
  Sample Make(std::shared_ptr<const HistogramValue> histogram, Labels labels = {}) const;
};

/// Every family below except the postgres.query columns, for tests and for
/// restoring saved samples.
std::span<const Family* const> AllFamilies();
/// The family named `name`, or nullptr (a postgres.query column, a test's own).
const Family* FindFamily(std::string_view name);

/// A numeric column of a postgres.query check: drwatch_query_<column>, its
/// labels check, target and the check's `labels`.
Sample QueryColumn(std::string_view column, double value, Labels labels);

using enum MetricType;

// ---- The engine: one set per check, objectives, the scheduler ---------------
inline constexpr std::string_view kCheckLabels = "check,kind,target";
inline constexpr Family kCheckIntervalSeconds{"drwatch_check_interval_seconds", kGauge,
                                              "Configured interval between runs of the check.", kCheckLabels};
inline constexpr Family kCheckTimeoutSeconds{"drwatch_check_timeout_seconds", kGauge,
                                             "Configured deadline of one run of the check.", kCheckLabels};
inline constexpr Family kCheckSuccess{"drwatch_check_success", kGauge, "1 if the check's last run succeeded, else 0.",
                                      kCheckLabels};
inline constexpr Family kCheckDurationSeconds{"drwatch_check_duration_seconds", kGauge,
                                              "Duration of the check's last run.", kCheckLabels};
inline constexpr Family kCheckLastRunTimestampSeconds{"drwatch_check_last_run_timestamp_seconds", kGauge,
                                                      "When the check's last run ended (unix time).", kCheckLabels};
inline constexpr Family kCheckLastSuccessTimestampSeconds{
    "drwatch_check_last_success_timestamp_seconds", kGauge,
    "When the check last succeeded (unix time); 0 if it never has.", kCheckLabels};
inline constexpr Family kCheckRunsTotal{
    "drwatch_check_runs_total", kCounter,
    "Runs of the check by result (skipped: still running when due, or its run lock held).",
    "check,kind,target,result"};
inline constexpr Family kCheckScheduleDelaySeconds{
    "drwatch_check_schedule_delay_seconds", kHistogram,
    "How late scheduled runs started: actual start minus planned start (a run that cannot start before its next "
    "planned start is counted in drwatch_check_runs_total{result=\"skipped\"} instead).",
    ""};
inline constexpr Family kSchedulerRunsInFlight{"drwatch_scheduler_runs_in_flight", kGauge,
                                               "Check runs in flight now.", ""};
inline constexpr Family kStateWriteErrorsTotal{"drwatch_state_write_errors_total", kCounter,
                                               "Check states that could not be saved under --storage.path.", ""};
inline constexpr Family kObjectiveTargetSeconds{
    "drwatch_objective_target_seconds", kGauge,
    "Recovery objective from the catalogue (RPO: data loss allowed, RTO: recovery time allowed).", "objective,name"};
inline constexpr Family kObjectiveObservedSeconds{"drwatch_objective_observed_seconds", kGauge,
                                                  "Worst value reported by the checks that feed the objective.",
                                                  "objective,name"};
inline constexpr Family kObjectiveMet{
    "drwatch_objective_met", kGauge,
    "1 when the objective is met, 0 when observed exceeds target or a feeding check fails or is stale.",
    "objective,name"};
inline constexpr Family kShardInfo{
    "drwatch_shard_info", kGauge,
    "The shard this instance runs (--shard=i/N; shard 0 of 1 when unsharded), value always 1.", "shard,shards"};
inline constexpr Family kEventLoopLagSeconds{
    "drwatch_event_loop_lag_seconds", kGauge,
    "Worst lateness of the event loop's 100 ms heartbeat timer over the last 10 s: how long something kept the "
    "loop from running.",
    ""};

// ---- The daemon -------------------------------------------------------------
inline constexpr Family kBuildInfo{"drwatch_build_info", kGauge,
                                   "drwatchd version and revision (value is always 1).", "version,revision"};
inline constexpr Family kConfigLastReloadSuccessful{"drwatch_config_last_reload_successful", kGauge,
                                                    "1 if the last catalogue (re)load succeeded, else 0.", ""};
inline constexpr Family kConfigLastReloadSuccessTimestampSeconds{
    "drwatch_config_last_reload_success_timestamp_seconds", kGauge,
    "When the catalogue was last loaded successfully (unix time).", ""};
inline constexpr Family kHttpOpenConnections{"drwatch_http_open_connections", kGauge,
                                             "HTTP connections open now (at most --web.max-connections).", ""};
inline constexpr Family kHttpMaxConnections{"drwatch_http_max_connections", kGauge,
                                            "--web.max-connections: HTTP connections allowed at once.", ""};
inline constexpr Family kHttpConnectionsClosedAtLimitTotal{
    "drwatch_http_connections_closed_at_limit_total", kCounter,
    "HTTP connections closed to stay within --web.max-connections (the one idle the longest, or a newcomer when "
    "all were busy).",
    ""};
inline constexpr Family kLogMessagesDroppedTotal{
    "drwatch_log_messages_dropped_total", kCounter,
    "Log lines dropped because the log writer's queue was full (stderr or journald too slow).", ""};

// ---- The process (the standard names) ---------------------------------------
inline constexpr Family kProcessCpuSecondsTotal{"process_cpu_seconds_total", kCounter,
                                                "Total user and system CPU time spent in seconds.", ""};
inline constexpr Family kProcessResidentMemoryBytes{"process_resident_memory_bytes", kGauge,
                                                    "Resident memory size in bytes.", ""};
inline constexpr Family kProcessVirtualMemoryBytes{"process_virtual_memory_bytes", kGauge,
                                                   "Virtual memory size in bytes.", ""};
inline constexpr Family kProcessStartTimeSeconds{"process_start_time_seconds", kGauge,
                                                 "Start time of the process since unix epoch in seconds.", ""};
inline constexpr Family kProcessOpenFds{"process_open_fds", kGauge, "Number of open file descriptors.", ""};
inline constexpr Family kProcessMaxFds{"process_max_fds", kGauge, "Maximum number of open file descriptors.", ""};

// ---- Probes: shared by several kinds ------------------------------------------
// Recency, WAL archive, backups, storage freshness and Supabase backups all
// export the age of the newest data they found; the HELP says only that.
inline constexpr Family kDataAgeSeconds{"drwatch_data_age_seconds", kGauge,
                                        "Age of the newest data the check found, as of its last run.",
                                        "check,target"};
inline constexpr Family kDataMaxAgeSeconds{"drwatch_data_max_age_seconds", kGauge,
                                           "The check's max_age: the oldest data allowed.", "check,target"};

// ---- Probes: PostgreSQL -----------------------------------------------------
inline constexpr Family kPostgresConnectDurationSeconds{"drwatch_postgres_connect_duration_seconds", kGauge,
                                                        "Time to open a connection in the last postgres.ping run.",
                                                        "check,target"};
inline constexpr Family kPostgresQueryDurationSeconds{"drwatch_postgres_query_duration_seconds", kGauge,
                                                      "Time of SELECT 1 in the last postgres.ping run.",
                                                      "check,target"};
inline constexpr Family kPostgresServerInfo{"drwatch_postgres_server_info", kGauge,
                                            "PostgreSQL server version seen by the last postgres.ping run.",
                                            "check,target,version"};
inline constexpr Family kReplicationSlotActive{"drwatch_replication_slot_active", kGauge,
                                               "Whether a replication slot has a consumer (1) or not.",
                                               "check,target,slot"};
inline constexpr Family kReplicationSlotRetainedBytes{"drwatch_replication_slot_retained_bytes", kGauge,
                                                      "WAL the primary keeps for a replication slot, in bytes.",
                                                      "check,target,slot"};
inline constexpr Family kReplicationLagSeconds{
    "drwatch_replication_lag_seconds", kGauge,
    "Replay lag of a standby (standby=\"self\": measured on the standby itself).", "check,target,standby"};
inline constexpr Family kReplicationLagBytes{"drwatch_replication_lag_bytes", kGauge,
                                             "WAL bytes a standby has not replayed yet.", "check,target,standby"};
inline constexpr Family kWalArchiveFailedTotal{
    "drwatch_wal_archive_failed_total", kCounter,
    "Failed attempts to archive a WAL file, as counted by pg_stat_archiver.failed_count.", "check,target"};
inline constexpr Family kWalArchiveReadyFiles{
    "drwatch_wal_archive_ready_files", kGauge,
    "WAL files waiting to be archived (.ready in pg_wal/archive_status; needs pg_monitor).", "check,target"};
inline constexpr Family kBaselineRatio{
    "drwatch_baseline_ratio", kGauge,
    "A postgres.baseline subject's last value over its baseline (the median of its last normal samples); above "
    "the check's factor is a regression.",
    "check,target,subject"};
inline constexpr Family kSecurityFindings{"drwatch_security_findings", kGauge,
                                          "Objects a rule of a postgres.security check found (0: none), by rule.",
                                          "check,target,rule"};
inline constexpr Family kSchemaDrift{"drwatch_schema_drift", kGauge,
                                     "1 when the live schema differs from the newest backup's schema.sql.",
                                     "check,target"};
inline constexpr Family kSchemaLastChangeTimestampSeconds{
    "drwatch_schema_last_change_timestamp_seconds", kGauge,
    "When drwatchd first saw the current live schema (unix time).", "check,target"};

// ---- Probes: HTTP and Supabase ----------------------------------------------
inline constexpr Family kHttpPhaseDurationSeconds{"drwatch_http_phase_duration_seconds", kGauge,
                                                  "Duration of each phase of the last HTTP request.",
                                                  "check,target,phase"};
inline constexpr Family kHttpStatusCode{"drwatch_http_status_code", kGauge, "Status code of the last HTTP response.",
                                        "check,target"};
inline constexpr Family kHttpTlsCertExpiryTimestampSeconds{
    "drwatch_http_tls_cert_expiry_timestamp_seconds", kGauge,
    "When the server's TLS certificate expires (unix time).", "check,target"};
inline constexpr Family kSupabasePitrEnabled{"drwatch_supabase_pitr_enabled", kGauge,
                                             "1 if point-in-time recovery is enabled.", "check,target"};
inline constexpr Family kSupabasePitrWindowSeconds{
    "drwatch_supabase_pitr_window_seconds", kGauge,
    "Point-in-time recovery window: newest minus earliest restorable point.", "check,target"};
inline constexpr Family kSupabaseMinPitrWindowSeconds{
    "drwatch_supabase_min_pitr_window_seconds", kGauge,
    "The check's min_pitr_window: the shortest point-in-time recovery window allowed.", "check,target"};
inline constexpr Family kSupabaseConfigChangedTimestampSeconds{
    "drwatch_supabase_config_changed_timestamp_seconds", kGauge,
    "When the section of the project's configuration last changed, as seen by the check's runs (unix time; the "
    "first run counts as a change).",
    "check,target,section"};

// ---- Probes: storage ----------------------------------------------------------
inline constexpr Family kStorageFreeBytes{"drwatch_storage_free_bytes", kGauge,
                                          "Bytes available on the storage target's file system.", "check,target"};
inline constexpr Family kStorageFreeInodes{"drwatch_storage_free_inodes", kGauge,
                                           "Inodes available on the storage target's file system.", "check,target"};
inline constexpr Family kStorageReplicationLagSeconds{
    "drwatch_storage_replication_lag_seconds", kGauge,
    "How much older the replica's newest matching object is than the primary's.", "check,target,replica"};
inline constexpr Family kStorageReplicationMaxLagSeconds{"drwatch_storage_replication_max_lag_seconds", kGauge,
                                                         "The check's max_lag: the largest lag allowed.",
                                                         "check,target,replica"};
inline constexpr Family kBackupNewestSizeBytes{"drwatch_backup_newest_size_bytes", kGauge,
                                               "Size of the newest matching backup object.", "check,target"};
inline constexpr Family kBackupObjects{"drwatch_backup_objects", kGauge,
                                       "Number of backup objects matching the check's pattern.", "check,target"};

// ---- Probes: backups and restore drills ---------------------------------------
inline constexpr Family kBackupLastSuccessTimestampSeconds{
    "drwatch_backup_last_success_timestamp_seconds", kGauge,
    "When the newest complete backup run finished (unix time).", "check,target"};
inline constexpr Family kBackupDurationSeconds{"drwatch_backup_duration_seconds", kGauge,
                                               "How long the newest complete backup run took.", "check,target"};
inline constexpr Family kBackupSizeBytes{"drwatch_backup_size_bytes", kGauge,
                                         "Size of each file of the newest complete backup run.", "check,target,file"};
inline constexpr Family kBackupThroughputBytesPerSecond{
    "drwatch_backup_throughput_bytes_per_second", kGauge,
    "Bytes stored per second of the newest complete backup run (all its files over its duration).",
    "check,target"};
inline constexpr Family kBackupDurationRatio{
    "drwatch_backup_duration_ratio", kGauge,
    "Duration of the last backup or drill run over the median of the check's previous runs (up to 10).",
    "check,target"};
inline constexpr Family kRestoreDurationSeconds{
    "drwatch_restore_duration_seconds", kGauge,
    "Time from the drill's start until the system's tables were restored and verified.", "check,target,system"};
inline constexpr Family kRestoreVerifiedTables{"drwatch_restore_verified_tables", kGauge,
                                               "Tables whose existence and row count the last drill verified.",
                                               "check,target"};
inline constexpr Family kRestoreThroughputBytesPerSecond{
    "drwatch_restore_throughput_bytes_per_second", kGauge,
    "Bytes of the custom-format dump pg_restore restored per second in the last drill.", "check,target"};
inline constexpr Family kRestoreLastSuccessTimestampSeconds{
    "drwatch_restore_last_success_timestamp_seconds", kGauge,
    "When a drill of the check last restored and verified a backup (unix time).", "check,target"};

}  // namespace drwatch::metrics
