#pragma once
// Command-line reports on a backup check's runs (drwatchd backup list CHECK).

#include <boost/asio/awaitable.hpp>
#include <ostream>
#include <string>

#include "common/blocking.hpp"
#include "storage/backend.hpp"

namespace drwatch::backup {

/// Prints every run of `check` in `store`, oldest first: id, date, size,
/// complete or not (a manifest whose files are not all there with their
/// size is not complete: why is printed), and whether each file's size and
/// SHA-256 match the manifest. Returns the process exit status: 0 when every complete run
/// verifies, 1 otherwise (a store error included, printed).
boost::asio::awaitable<int> ListCommand(storage::Backend& store, BlockingPool& pool, std::string check,
                                        std::ostream& out);

/// drwatchd backup decrypt FILE --key-file PATH: reads the key (base64, as
/// the catalogue's `encryption.key`), verifies the whole of FILE first, and
/// only then writes its plaintext to `out_fd`: nothing reaches stdout from a
/// file that is truncated, tampered with or under another key. Returns 0, or
/// 1 with `error` set (the key never appears in it).
int DecryptCommand(const std::string& file, const std::string& key_file, int out_fd, std::string& error);

/// drwatchd backup keygen: a new key in base64 and a newline.
std::string KeygenCommand();

}  // namespace drwatch::backup
