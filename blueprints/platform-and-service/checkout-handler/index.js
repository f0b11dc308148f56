// The seed's Lambda: it fails on purpose so the alert chain has something to catch.
// CloudWatch Logs receives the console.error line; the metric filter matches "ERROR".
exports.handler = async (event) => {
  console.error("ERROR: something went wrong", JSON.stringify(event ?? {}));
  return { statusCode: 500, body: "ERROR" };
};
