import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { API_KEY_HEADER, API_KEY_MESSAGES, ApiKeys } from './api-keys';
import { PUBLIC_ROUTE } from './route-access';

/** 401 without an API key, 403 with a wrong one, when keys are configured. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(ApiKeys) private readonly keys: ApiKeys,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.keys.required) return true;
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const verdict = this.keys.check(request.headers[API_KEY_HEADER]);
    if (verdict === 'missing') throw new UnauthorizedException(API_KEY_MESSAGES.missing);
    if (verdict === 'rejected') throw new ForbiddenException(API_KEY_MESSAGES.rejected);
    return true;
  }
}
