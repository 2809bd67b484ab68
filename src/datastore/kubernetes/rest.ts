// The HTTP leg: @kubernetes/client-node's generic object client with its own auth, TLS and
// middleware, but JSON in and JSON out untouched. The typed (de)serializer would turn
// timestamps into Date objects and drop fields of kinds it does not know, and discovery is
// unnecessary because our paths are known (see paths.ts).
import {
  HttpMethod,
  type KubeConfig,
  KubernetesObjectApi,
  type ResponseContext,
} from '@kubernetes/client-node';
import { apiError, transportError } from './errors.js';

export interface RestRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Names the request in error messages, e.g. `update IPAMBlock "10-0-0-0-26"`. */
  what: string;
}

/** A non-2xx answer, carried out of the library's response pipeline to where the request is known. */
class HttpFailure {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {}
}

class RawObjectApi extends KubernetesObjectApi {
  async send(req: RestRequest, timeoutMs: number): Promise<unknown> {
    const ctx = this.configuration.baseServer.makeRequestContext(req.path, HttpMethod[req.method]);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [k, v] of Object.entries(req.query ?? {})) ctx.setQueryParam(k, v);
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', 'application/json');
      ctx.setBody(JSON.stringify(req.body));
    }
    ctx.setSignal(AbortSignal.timeout(timeoutMs));
    try {
      const answer: unknown = await this.requestPromise(ctx);
      return answer;
    } catch (e) {
      if (e instanceof HttpFailure) throw apiError(e.code, e.body, req.what);
      throw transportError(e, req.what);
    }
  }

  /** Replaces the library's typed handling: 2xx is the JSON as sent, anything else an HttpFailure. */
  protected override async processResponse<T>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new HttpFailure(response.httpStatusCode, text);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new HttpFailure(502, `API server sent a non-JSON body: ${text.slice(0, 120)}`);
    }
  }
}

/** One request at a time to the API server of a KubeConfig, with a per-request timeout. */
export class RestClient {
  private readonly api: RawObjectApi;

  constructor(
    kubeConfig: KubeConfig,
    private readonly timeoutMs: number,
  ) {
    this.api = kubeConfig.makeApiClient(RawObjectApi);
  }

  request(req: RestRequest): Promise<unknown> {
    return this.api.send(req, this.timeoutMs);
  }
}
