import { randomInt } from "node:crypto";

// Our own word lists in Docker's `adjective_surname` shape: adjectives of
// temperament, surnames of people who shaped computing and science.
const adjectives = [
  "agile", "amazing", "bold", "brave", "calm", "clever", "cool", "curious", "daring", "eager",
  "elastic", "epic", "fervent", "focused", "friendly", "gallant", "gentle", "happy", "hardy", "humble",
  "jolly", "keen", "kind", "lucid", "merry", "modest", "nimble", "noble", "patient", "plucky",
  "quiet", "quirky", "relaxed", "serene", "sharp", "steady", "stoic", "sunny", "swift", "tender",
  "tidy", "trusty", "upbeat", "vibrant", "vigilant", "wise", "witty", "zealous", "zen", "brisk",
];
const surnames = [
  "allen", "babbage", "backus", "bartik", "berners", "borg", "cerf", "codd", "conway", "curie",
  "dijkstra", "easley", "engelbart", "feynman", "floyd", "goldberg", "hamilton", "hopper", "johnson", "kahn",
  "kay", "knuth", "lamport", "liskov", "lovelace", "mccarthy", "meitner", "minsky", "moore", "noether",
  "pike", "ritchie", "shannon", "shaw", "sutherland", "tanenbaum", "thompson", "torvalds", "turing", "vaughan",
  "wilkes", "wing", "wozniak", "yalow", "hoare", "perlman", "milner", "hellman", "diffie", "lehmann",
];

/** A random `adjective_surname`; the caller retries (with a numeric suffix) on a clash. */
export function randomName(attempt = 0): string {
  const base = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}`;
  return attempt > 0 ? `${base}${randomInt(10)}` : base;
}

/** Docker's rule for container names. */
export const validName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
