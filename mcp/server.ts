import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { HksApiError, HksTransportError } from '../sdk/typescript/errors';
import { Http } from '../sdk/typescript/http';
import { ToolArgumentsError } from './tool-arguments';
import { progressNotifier, ProgressReport } from './execute-progress';
import { HKS_TOOLS, HksTool, ToolOutput } from './tools';

/** Where the API is and the internal token sent to it. */
export interface ApiAccess {
  /** Root URL of the API, e.g. `http://localhost:8080`. */
  readonly apiUrl: string;
  /** An internal token (audience `hks-internal`), sent as it is. */
  readonly token: string;
}

/** What the MCP server needs. */
export interface HksMcpServerOptions {
  /**
   * The API and the token, read at every tool call, so that a token renewed meanwhile (internal
   * tokens live 10 minutes at most) is the one sent.
   */
  readonly access: () => ApiAccess;
  /** The version the server reports to clients. */
  readonly version: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Time limit of requests that run no user code. @default 30000 */
  readonly timeoutMs?: number;
}

/** The name the server reports to clients. */
export const MCP_SERVER_NAME = 'hks-platform';

/**
 * An MCP server whose tools call the API's routes with the caller's token, so the API
 * authorizes every call as it authorizes its own requests. The SDK's low-level `Server` and
 * not `McpServer`: McpServer checks arguments with zod's own messages before a tool runs;
 * here the API's validator checks them, so a refused argument reads as the API's 400 does
 * (the field, the value given, what is expected).
 */
export function hksMcpServer(options: HksMcpServerOptions): Server {
  const server = new Server(
    { name: MCP_SERVER_NAME, title: 'HKS Platform', version: options.version },
    {
      capabilities: { tools: {} },
      instructions:
        'Run code once (execute), keep a temporary function for repeated calls (deploy_function, invoke_function, delete_function), read function logs and revisions, list CronJobs, run one now and read its executions and logs. The token decides which projects these work in.',
    },
  );
  const tools = new Map(HKS_TOOLS.map((tool) => [tool.name, tool]));
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: HKS_TOOLS.map((tool) => ({
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.arguments.jsonSchema,
      annotations: tool.annotations,
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = tools.get(request.params.name);
    if (!tool) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool ${JSON.stringify(request.params.name)}: expected one of ${[...tools.keys()].join(', ')}`,
      );
    }
    const progressToken = request.params._meta?.progressToken;
    const report =
      progressToken === undefined
        ? undefined
        : progressNotifier(progressToken, extra.sendNotification);
    return callTool(tool, request.params.arguments ?? {}, options, extra.signal, report);
  });
  return server;
}

/** Runs one tool; every failure is a tool error the agent can read, never a protocol error. */
async function callTool(
  tool: HksTool,
  args: unknown,
  options: HksMcpServerOptions,
  signal: AbortSignal,
  report?: ProgressReport,
): Promise<CallToolResult> {
  try {
    const parsed = tool.arguments.parse(args);
    const { apiUrl, token } = options.access();
    const api = new Http({
      apiUrl,
      token,
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    return resultOf(await tool.call(parsed, api, signal, report));
  } catch (error) {
    return toolError(error);
  }
}

function resultOf(output: ToolOutput): CallToolResult {
  if ('text' in output) return { content: [{ type: 'text', text: output.text }] };
  const value = output.json;
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  return {
    content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
    ...(isObject ? { structuredContent: value as Record<string, unknown> } : {}),
  };
}

/**
 * A tool error: the arguments' field errors, the API's problem (status, title, detail and
 * field errors, also as structured content), or what went wrong reaching it.
 */
export function toolError(error: unknown): CallToolResult {
  const text = (message: string) => [{ type: 'text' as const, text: message }];
  if (error instanceof ToolArgumentsError) {
    return {
      isError: true,
      content: text(error.message),
      structuredContent: { errors: error.errors },
    };
  }
  if (error instanceof HksApiError) {
    return {
      isError: true,
      content: text(error.message),
      structuredContent: { status: error.status, problem: error.problem },
    };
  }
  const message =
    error instanceof HksTransportError || error instanceof Error ? error.message : String(error);
  return { isError: true, content: text(message) };
}
