import { Controller, Get, Query } from '@nestjs/common';
import { IsOptional, IsString } from 'class-validator';
import { MAX_QUERY_PAIRS, queryProblems, querySpecOf } from '../../src/common/http/query-parameters';
import { ListParam } from '../../src/common/http/validators';
import { CrossRunQueryDto } from '../../src/history/dto/page-query.dto';
import { RetentionQueryDto } from '../../src/history/dto/retention.dto';

class BaseQuery {
  @ListParam()
  nodes?: string[];
}
class ChildQuery extends BaseQuery {
  @IsOptional()
  @IsString()
  limit?: string;
}

@Controller('x')
class Fixture {
  @Get('a')
  a(@Query() _q: ChildQuery) {}
  @Get('b')
  b() {}
  @Get('c')
  c(@Query('since') _since: string, @Query() _q: BaseQuery) {}
  @Get('d')
  d(@Query() _q: unknown) {}
}

describe('the query rule (query-parameters.ts)', () => {
  it("reads what a handler takes from its @Query() DTO (inherited properties included) and @Query('name')", () => {
    expect(querySpecOf(Fixture, 'a')).toEqual({ names: ['limit', 'nodes'], lists: new Set(['nodes']) });
    expect(querySpecOf(Fixture, 'b')).toEqual({ names: [], lists: new Set() });
    expect(querySpecOf(Fixture, 'c')).toEqual({ names: ['nodes', 'since'], lists: new Set(['nodes']) });
    expect(() => querySpecOf(Fixture, 'd')).toThrow(/without a DTO class/);
  });

  it("knows the service's list parameters", () => {
    @Controller('y')
    class Lists {
      @Get()
      list(@Query() _q: CrossRunQueryDto) {}
      @Get('r')
      retention(@Query() _q: RetentionQueryDto) {}
    }
    const s = querySpecOf(Lists, 'list');
    expect(s.names).toEqual([
      'cursor',
      'dry_run',
      'epoch',
      'include_summary',
      'limit',
      'nodes',
      'order',
      'since',
      'statuses',
      'tasks_names',
      'transaction_types',
      'until',
    ]);
    expect([...s.lists].sort()).toEqual(['nodes', 'statuses', 'tasks_names', 'transaction_types']);
    expect(querySpecOf(Lists, 'retention').lists.size).toBe(0);
  });

  const spec = { names: ['dry_run', 'keep_runs', 'nodes'], lists: new Set(['nodes']) };
  const named = (raw: string) => queryProblems(raw, spec)?.parameters;

  it('accepts what the route takes, a list repeated, empty pieces', () => {
    expect(queryProblems('', spec)).toBeUndefined();
    expect(queryProblems('keep_runs=1&dry_run=true&nodes=1,2&nodes=3', spec)).toBeUndefined();
    expect(queryProblems('keep_runs=1&&dry_run&', spec)).toBeUndefined();
    expect(queryProblems('keep%5Fruns=1&dry+run', { names: ['keep_runs', 'dry run'], lists: new Set() })).toBeUndefined();
  });

  it('names an unknown key, a bracketed key, a single-valued key repeated; says what the route takes', () => {
    expect(queryProblems('keep_runs=1&dry-run=true', spec)).toEqual({
      message: "unknown query parameter 'dry-run' (this route takes dry_run, keep_runs, nodes)",
      parameters: ['dry-run'],
    });
    expect(named('dry_run[]=true&nodes%5Ba%5D=1&nodes[]=1&x[=1')).toEqual(['dry_run[]', 'nodes[a]', 'nodes[]', 'x[']);
    expect(queryProblems('nodes[]=1', spec)?.message).toContain('send nodes=a,b');
    expect(queryProblems('keep_runs=1&keep_runs=2&dry_run=1&dry_run', spec)?.message).toBe(
      "query parameter 'keep_runs' is given 2 times: it takes one value; query parameter 'dry_run' is given 2 times: it takes one value",
    );
    expect(named('=1')).toEqual(['']);
    expect(named('__proto__=1&constructor=1&toString')).toEqual(['__proto__', 'constructor', 'toString']);
    const none = { names: [], lists: new Set<string>() };
    expect(queryProblems('x=1', none)?.message).toBe("unknown query parameter 'x' (this route takes no query parameter)");
  });

  it('echoes a key with its control and bidi characters escaped, at most 100 characters', () => {
    expect(queryProblems('a%00%1B%E2%80%AEb=1', spec)?.message).toContain("'a\\u0000\\u001b\\u202eb'");
    expect(queryProblems(`${'k'.repeat(500)}=1`, spec)?.message).toContain(`'${'k'.repeat(100)}...'`);
  });

  it(`refuses more than ${MAX_QUERY_PAIRS} pairs (Express's parser would drop the rest)`, () => {
    expect(queryProblems(Array(MAX_QUERY_PAIRS).fill('nodes=1').join('&'), spec)).toBeUndefined();
    expect(
      queryProblems(
        Array(MAX_QUERY_PAIRS + 1)
          .fill('nodes=1')
          .join('&'),
        spec,
      )?.message,
    ).toMatch(/1001 parameters: at most 1000/);
  });
});
