// CloudFront Function (runtime cloudfront-js-2.0), viewer request, on the OCPP distribution.
//
// Chargers connect to wss://<distribution>/ocpp/<stationId>. An API Gateway WebSocket API
// does not route by path, so the identity moves into the query string that the $connect
// handler reads, and the path becomes the stage root (the origin path adds the stage):
//
//   /ocpp/CP001          -> uri "/", stationId=CP001 (other query parameters are kept)
//   /ocpp/CP%20X/        -> uri "/", stationId=CP%20X (decoded, then encoded again)
//   anything else        -> 404 from the edge; API Gateway never sees the request
//   bad %-encoding       -> 400
//
// A stationId already in the query string is replaced: the path is the identity.
// This file and the FunctionCode in template.yaml must stay identical:
// infra/cloudfront/ocpp-rewrite.test.mjs checks both.
function handler(event) {
  var request = event.request;
  var match = /^\/ocpp\/([^\/]+)\/?$/.exec(request.uri);
  if (match === null) {
    return refuse(404, 'Not Found');
  }
  var stationId;
  try {
    stationId = decodeURIComponent(match[1]);
  } catch (e) {
    return refuse(400, 'Bad Request');
  }
  if (stationId.length === 0) {
    return refuse(404, 'Not Found');
  }
  if (!request.querystring) {
    request.querystring = {};
  }
  request.querystring.stationId = { value: encodeURIComponent(stationId) };
  request.uri = '/';
  return request;
}

function refuse(statusCode, statusDescription) {
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: { 'cache-control': { value: 'no-store' } }
  };
}
