#include "storage/backend.hpp"

namespace drwatch::storage {
namespace {

bool Newer(const ObjectInfo& a, const ObjectInfo& b) {
  return a.mtime != b.mtime ? a.mtime > b.mtime : a.key > b.key;
}

}  // namespace

boost::asio::awaitable<ListResult> Backend::ListDirectories(std::string, std::size_t) { co_return ListResult{}; }

boost::asio::awaitable<Status> Backend::RemoveDirectory(std::string) { co_return Status{}; }

const ObjectInfo* Newest(const std::vector<ObjectInfo>& objects) {
  const ObjectInfo* best = nullptr;
  for (const auto& o : objects) {
    if (!best || Newer(o, *best)) best = &o;
  }
  return best;
}

const ObjectInfo* Previous(const std::vector<ObjectInfo>& objects, const ObjectInfo& newest) {
  const ObjectInfo* best = nullptr;
  for (const auto& o : objects) {
    if (&o == &newest || Newer(o, newest)) continue;
    if (!best || Newer(o, *best)) best = &o;
  }
  return best;
}

}  // namespace drwatch::storage
